"""What a failed read usually means, in words an engineer can act on.

The meanings come from where each file's read fails in the kernel:
drivers/vfio/debugfs.c (state), hisi_acc_vfio_pci.c (hisi_acc_vf_debug_check,
hisi_acc_vf_migf_read, hisi_acc_vf_debug_cmd).
"""

from __future__ import annotations

import errno

from vfio_tui.model.layout import FileKind, Layout
from vfio_tui.model.snapshot import ReadError, ReadErrorKind

_BY_FILE: dict[tuple[int, FileKind], str] = {
    (errno.EAGAIN, FileKind.MIGF_DATA): "no migration has completed on this device yet",
    (errno.EINVAL, FileKind.DEV_DATA): "the device is not opened: no VM (QEMU) is using it",
    (errno.EINVAL, FileKind.CMD_STATE): (
        "the device is not opened, or its mailbox reads 0xffffffff (mailbox not ready)"
    ),
    (errno.EBUSY, FileKind.DEV_DATA): (
        "the VF is not ready: the guest driver has not set QM_VF_STATE (is it loaded?)"
    ),
    (errno.EBUSY, FileKind.CMD_STATE): (
        "the VF is not ready: the guest driver has not set QM_VF_STATE (is it loaded?)"
    ),
    (errno.EINVAL, FileKind.STATE): "the driver could not report its state (get_state failed)",
    # Every kernel with a migration/ directory has `state`: gone means the device is.
    (errno.ENOENT, FileKind.STATE): (
        "the device's debugfs directory is gone: it was unbound from its driver or removed"
    ),
}

_BY_ERRNO: dict[int, str] = {
    errno.ENOENT: "the file is not there: the device was unbound, or this kernel lacks the file",
    errno.ENODEV: "the device was unbound from its driver",
    errno.EACCES: "debugfs is readable by root only: connect as root or use --sudo",
    errno.EPERM: "debugfs is readable by root only: connect as root or use --sudo",
    errno.EIO: "the device did not answer (an MMIO or mailbox error)",
    errno.EBUSY: "the device is busy",
}

_BY_KIND: dict[ReadErrorKind, str] = {
    ReadErrorKind.TIMED_OUT: (
        "the read blocked: the driver holds its state mutex (a state change in progress, "
        "or a hung one)"
    ),
    ReadErrorKind.HOST_UNREACHABLE: "the host cannot be reached right now",
    ReadErrorKind.MALFORMED: "what came back is not what the kernel writes",
}


def explain_state(label: str, layout: Layout) -> str:
    """What a state reading means beyond its name, for this kind of device ("" if nothing)."""
    if label == "ERROR" and layout in (Layout.HISI_MAINLINE, Layout.HISI_2023):
        return "hisi_acc reads ERROR until the VF is first opened (no VM has used it yet)"
    return ""


def explain(kind: FileKind | None, error: ReadError) -> str:
    """The usual meaning of `error` on a file of `kind` (empty when there is nothing to add)."""
    if error.errno is not None:
        if kind is not None and (error.errno, kind) in _BY_FILE:
            return _BY_FILE[(error.errno, kind)]
        if error.errno in _BY_ERRNO:
            return _BY_ERRNO[error.errno]
    return _BY_KIND.get(error.kind, "")
