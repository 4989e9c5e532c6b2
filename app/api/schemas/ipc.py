"""IPC scheme schemas."""

from pydantic import BaseModel, Field


class IpcEntryOut(BaseModel):
    """One IPC code with its CNIPA Chinese title (分类号及中文含义)."""

    code: str = Field(examples=["H01M 4/36"])
    level: str = Field(examples=["subgroup"], description="section … subgroup")
    title_zh: str = Field(examples=["活性材料组成的电极"])


class IpcCodeOut(IpcEntryOut):
    """A code with the chain of its parents, broadest first."""

    parents: list[IpcEntryOut]
