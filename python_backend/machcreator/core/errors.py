"""Errors a user can cause. Each carries one readable line; the CLI prints it and exits non-zero."""


class MachError(Exception):
    """Base class: bad input or environment, reported without a traceback."""


class PromptError(MachError):
    """The prompt is empty, too long, or not text."""


class AttributeOverrideError(MachError):
    """An attribute override names an unknown field or an invalid value."""


class OutputError(MachError):
    """The output folder exists and is not empty, or cannot be written."""


class PackageError(MachError):
    """A character package is malformed, incomplete, or tries to escape its folder."""


class ModelLoadError(MachError):
    """An optional heavy model (LLM, CLIP, diffusion) could not be loaded from its local path."""


class PortraitError(MachError):
    """No painted portrait shows a face the photo path can fit."""


class ModelConfigError(ModelLoadError):
    """The models config (file, ``MACH_MODEL_*`` env, CLI flags) names a missing, unreadable or mismatched model."""
