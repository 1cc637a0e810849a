"""通报工作簿: the engine behind the monthly 政务服务能力提升 bulletin."""
__version__ = "0.1.0"
