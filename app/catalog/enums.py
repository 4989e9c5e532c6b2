"""Enumerations of the catalog, stored by value."""

from enum import StrEnum


class OrgKind(StrEnum):
    """Kind of organisation."""

    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    ENTERPRISE = "enterprise"
    SERVICE_STATION = "service_station"  # 知识产权服务站
    GOVERNMENT = "government"


class PatentType(StrEnum):
    """Patent type, derived from the application number's type digit."""

    INVENTION = "invention"  # 发明
    UTILITY_MODEL = "utility_model"  # 实用新型
    DESIGN = "design"  # 外观设计


class LegalStatus(StrEnum):
    """Legal status (法律状态)."""

    PENDING = "pending"  # 审中
    GRANTED = "granted"  # 授权, in force
    LAPSED = "lapsed"  # 未缴年费终止
    EXPIRED = "expired"  # 期限届满
    WITHDRAWN = "withdrawn"  # 撤回 / 驳回
    INVALIDATED = "invalidated"  # 无效


class ConversionStatus(StrEnum):
    """How far a patent has been put to use (转化状态)."""

    IDLE = "idle"  # 闲置 / 存量
    LICENSED = "licensed"
    TRANSFERRED = "transferred"
    OPEN_LICENCE = "open_licence"  # 开放许可


class CooperationMode(StrEnum):
    """How an enterprise wants to obtain a technology."""

    TRANSFER = "transfer"  # 转让
    LICENCE = "licence"  # 许可
    OPEN_LICENCE = "open_licence"  # 开放许可
    JOINT_DEVELOPMENT = "joint_development"  # 合作开发
    COMMISSIONED_RD = "commissioned_rd"  # 委托研发


class NeedStatus(StrEnum):
    """Lifecycle of a technology need."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class ChangeOp(StrEnum):
    """Operation recorded in the change log that feeds the search index."""

    UPSERT = "upsert"
    DELETE = "delete"


class EntityKind(StrEnum):
    """Entity kinds that the search index mirrors."""

    PATENT = "patent"
    NEED = "need"
