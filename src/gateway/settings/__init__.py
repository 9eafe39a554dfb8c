"""Settings, split by area; everything a caller needs is importable from here."""

from gateway.settings.app import AppConfig, LimitsConfig, LlmConfig, QueueConfig
from gateway.settings.base import ConfigError
from gateway.settings.bitrix import BitrixConfig, DealFields, RateLimit
from gateway.settings.channels import (
    ChannelsConfig,
    InstagramConfig,
    MetaChannelConfig,
    TelegramConfig,
    TemplateConfig,
    WhatsAppConfig,
)
from gateway.settings.loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG_PATH,
    expand_env,
    load_config,
    parse_config,
    resolve_config_path,
)
from gateway.settings.tenant import CatalogItem, TenantConfig, Utm
from gateway.settings.texts import Texts

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_PATH",
    "AppConfig",
    "BitrixConfig",
    "CatalogItem",
    "ChannelsConfig",
    "ConfigError",
    "DealFields",
    "InstagramConfig",
    "LimitsConfig",
    "LlmConfig",
    "MetaChannelConfig",
    "QueueConfig",
    "RateLimit",
    "TelegramConfig",
    "TemplateConfig",
    "TenantConfig",
    "Texts",
    "Utm",
    "WhatsAppConfig",
    "expand_env",
    "load_config",
    "parse_config",
    "resolve_config_path",
]
