"""The ASGI entry point for uvicorn: settings from the environment."""

from app.main import create_app
from app.runtime import tune_interpreter

app = create_app()
tune_interpreter()
