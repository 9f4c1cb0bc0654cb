"""The configuration of lms-sidecar: pydantic models, loading from YAML + environment, errors."""

from config.errors import ConfigError, ConfigFileError, ConfigValidationError, Problem
from config.loader import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_FILE,
    env_var_for,
    find_config_path,
    load_settings,
)
from config.settings import (
    FeatureSettings,
    LmsSettings,
    LoggingSettings,
    RetrySettings,
    Settings,
    StoreSettings,
    TimeoutSettings,
)
from config.starter import render_starter

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "ConfigError",
    "ConfigFileError",
    "ConfigValidationError",
    "FeatureSettings",
    "LmsSettings",
    "LoggingSettings",
    "Problem",
    "RetrySettings",
    "Settings",
    "StoreSettings",
    "TimeoutSettings",
    "env_var_for",
    "find_config_path",
    "load_settings",
    "render_starter",
]
