"""Push metrics straight into Prometheus-compatible storage with remote write 1.0 or 2.0.

The public path of ``prometheus_client.remote_write``: the implementation lives in
``prometheus_client._transport.remote_write``. Every name of that module is re-exported here, and an
assignment here (``mock.patch``, ``monkeypatch``) is forwarded to it.
"""

# isort: off
from ._reexport import forward_assignments
from ._transport import remote_write as _impl
from ._transport.remote_write import (  # noqa: F401
    write_request_from_registry as write_request_from_registry,
    push_to_remote_write as push_to_remote_write,
    RemoteWritePusher as RemoteWritePusher,
    CONTENT_TYPE as CONTENT_TYPE,
    PROTOBUF_MESSAGE_V1 as PROTOBUF_MESSAGE_V1,
    PROTOBUF_MESSAGE_V2 as PROTOBUF_MESSAGE_V2,
    REMOTE_WRITE_VERSION as REMOTE_WRITE_VERSION,
    USER_AGENT as USER_AGENT,
    RemoteWriteError as RemoteWriteError,
    default_handler as default_handler,
    _RESERVED_HEADERS as _RESERVED_HEADERS,
    _WRITTEN_HEADERS as _WRITTEN_HEADERS,
    Handler as Handler,
    Headers as Headers,
    logger as logger,
)
# isort: on

__all__ = [
    "CONTENT_TYPE",
    "PROTOBUF_MESSAGE_V1",
    "PROTOBUF_MESSAGE_V2",
    "REMOTE_WRITE_VERSION",
    "USER_AGENT",
    "RemoteWriteError",
    "RemoteWritePusher",
    "default_handler",
    "push_to_remote_write",
    "write_request_from_registry",
]

# What the implementation imports is part of its namespace too.
_ALSO = (
    'atexit',
    'ssl',
    'threading',
    'time',
    'Callable',
    'Mapping',
    'Optional',
    'Tuple',
    '_v2',
    '_snappy',
    'WriteRequestEncoder',
    'target_labels',
    'timestamp_ms',
    '_check_url',
    '_handler_for',
    '_headers',
    '_is_v2',
    '_Policy',
    '_send',
    '_send_v2',
    '_sleep',
    'walk',
    'REGISTRY',
    'Collector',
)
globals().update({name: getattr(_impl, name) for name in _ALSO if hasattr(_impl, name)})
forward_assignments(__name__, _impl)
