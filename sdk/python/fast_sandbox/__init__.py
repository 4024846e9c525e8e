"""fast_sandbox: the Python client of Fast Sandbox (standard library only).

Example::

    from fast_sandbox import FastSandbox
    fsb = FastSandbox()  # endpoint and token as fsb-ctl finds them
    box = fsb.sandboxes.create(image="busybox", command=["sleep", "600"])
    result = box.exec(["echo", "hi"])
    print(result.exit_code, result.stdout)
    box.delete()
"""

from .client import DEFAULT_TIMEOUT, FastSandbox
from .config import (
    DEFAULT_ENDPOINT,
    DEFAULT_NAMESPACE,
    ConfigError,
    ResolvedConfig,
    config_paths,
    parse_config_file,
    resolve_config,
)
from .errors import (
    AlreadyExistsError,
    AuthError,
    CapacityError,
    FastSandboxError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
)
from .files import FileInfo, FileList, Files
from .pools import POOL_API_VERSION, POOL_KIND, ApplyPoolResult, PoolAgent, PoolDetails, Pools
from .processes import ExecResult, ProcessInfo, Processes
from .sandbox import Sandbox
from .sandbox_info import PHASES, SandboxCondition, SandboxDetails
from .sandboxes import SandboxEvent, Sandboxes

__version__ = "0.1.0"
__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_NAMESPACE",
    "DEFAULT_TIMEOUT",
    "PHASES",
    "POOL_API_VERSION",
    "POOL_KIND",
    "AlreadyExistsError",
    "ApplyPoolResult",
    "AuthError",
    "CapacityError",
    "ConfigError",
    "ExecResult",
    "FastSandbox",
    "FastSandboxError",
    "FileInfo",
    "FileList",
    "Files",
    "InvalidArgumentError",
    "NotFoundError",
    "PoolAgent",
    "PoolDetails",
    "Pools",
    "ProcessInfo",
    "Processes",
    "ResolvedConfig",
    "Sandbox",
    "SandboxCondition",
    "SandboxDetails",
    "SandboxEvent",
    "Sandboxes",
    "UnavailableError",
    "config_paths",
    "parse_config_file",
    "resolve_config",
]
