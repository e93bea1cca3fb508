"""The remote reader: a small POSIX sh program, its requests and its framed answers.

One reader runs per host for as long as the app runs (`sh -s`, or `sudo -n sh -s`,
with this script sent on its stdin), so a poll costs one round trip however
many files it reads, and sudo is asked once, not on every poll. Requests are
lines on stdin; the reader only ever `read`s them as data, never evaluates
them. Paths are validated before they are sent anyway.

Answers are lines that start with RS + "VTUI", tagged with the request id, so
noise from rc files and late answers from abandoned reads are ignored. File
content travels as base64 (binary-safe); a failed read carries the host's own
error text. Each file is read in the background under its own watchdog (the
deadline is per file, not per request): a read that blocks in the kernel (a
driver holding its state mutex) is reported as timed out (T, naming the file's
type when it is not a regular file, e.g. a FIFO), and the next file is read.
A read still blocked from an earlier request is not started again: the file is
reported as timed out at once, so a stuck file costs one `head`, not one per
poll. When its stdin closes (the app quit or the link dropped) or it gets
HUP/TERM, the reader ends everything it started, including reads still blocked,
so nothing of it stays on the host. Listing reports a directory it may not read
(E), rather than showing it empty, and lists every non-directory entry (a FIFO
too). A name made of safe characters travels as itself after "=" (a base64 field never
starts with "="), others as base64, so listing starts no process at all
unless something is wrong (`ls` then gives the host's own error text).
The script ends with `done; fin` on one line: bash (sh on some distributions) reads a
script from stdin a line at a time, and would take a later line for a request. The
simulator's SSH server speaks the same protocol from Python (sim/sshserver.py).
"""

from __future__ import annotations

import base64
import binascii
import errno as errno_module
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

PROTOCOL_VERSION = 1
MARK = b"\x1eVTUI "

# The whole reader. It must stay POSIX sh (dash, bash, busybox ash) and use only
# coreutils that every Linux server has: head, base64, ls, sleep. `fin` finds what the
# reader started through /proc (Linux: debugfs hosts are) and ends it; not `kill 0`,
# whose process group may hold more than the reader's own processes.
SCRIPT = r"""set -f
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
fired=
dog=
stuck=
trap 'fired=1' USR1
rec() { printf '\036VTUI %s\n' "$*"; }
b64() { printf %s "$1" | base64 -w0; }
name() {
  case $1 in
    ''|*[!A-Za-z0-9._:+/-]*) v=$(b64 "$1") ;;
    *) v="=$1" ;;
  esac
}
arm() {
  fired=
  ( trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$1" & s=$!
    wait "$s" && kill -USR1 $$ ) 2>/dev/null &
  dog=$!
}
disarm() {
  [ -n "$dog" ] && kill "$dog" 2>/dev/null
  dog=
}
busy() {
  for w in $stuck; do
    if [ "${w#*=}" = "$1" ] && kill -0 "${w%%=*}" 2>/dev/null; then return 0; fi
  done
  return 1
}
prune() {
  left=
  for w in $stuck; do kill -0 "${w%%=*}" 2>/dev/null && left="$left $w"; done
  stuck=$left
}
odd() {
  if [ -p "$1" ]; then echo " fifo"
  elif [ -c "$1" ]; then echo " char-device"
  elif [ -b "$1" ]; then echo " block-device"
  elif [ -S "$1" ]; then echo " socket"
  fi
}
do_read() {
  id=$1 t=$2 m=$3
  shift 3
  i=0
  prune
  for p do
    i=$((i+1))
    ty=
    [ -f "$p" ] || [ ! -e "$p" ] || ty=$(odd "$p")
    if busy "$p"; then rec "$id T $i$ty"; continue; fi
    arm "$t"
    ( r=$( { head -c "$m" -- "$p" | base64 -w0; } 2>&1 ); rec "$id F $i $r" ) &
    job=$!
    wait "$job" 2>/dev/null
    if [ -n "$fired" ] && kill -0 "$job" 2>/dev/null; then
      rec "$id T $i$ty"
      stuck="$stuck $job=$p"
    fi
    disarm
  done
}
seen() {
  [ -r "$1" ] && [ -x "$1" ] && return 0
  e=$(ls -- "$1" 2>&1 >/dev/null) && return 0
  rec "$id E $(b64 "$e")"
  return 1
}
do_list() {
  id=$1 root=$2
  if [ -d "$root/vfio" ] || e=$(ls -d -- "$root/vfio" 2>&1 >/dev/null); then
    set +f
    for d in "$root"/vfio/*; do
      [ -d "$d" ] || continue
      [ -x "$d" ] || seen "$d" || break
      [ -d "$d/migration" ] || continue
      seen "$d/migration" || break
      name "${d##*/}"
      n=$v
      rec "$id D $n"
      for f in "$d"/migration/* "$d"/migration/*/*; do
        if [ -d "$f" ]; then
          seen "$f" || break 2
        elif [ -e "$f" ] || [ -L "$f" ]; then
          name "${f#"$d"/migration/}"
          rec "$id P $n $v"
        fi
      done
    done
    set -f
  else
    rec "$id E $(b64 "$e")"
  fi
}
fin() {
  trap '' HUP PIPE TERM USR1
  disarm
  set +f
  ours=" $$ "
  more=1
  while [ -n "$more" ]; do
    more=
    for f in /proc/[0-9]*/stat; do
      { read -r l < "$f"; } 2>/dev/null || continue
      pid=${l%% *}
      case $ours in *" $pid "*) continue ;; esac
      set -- ${l##*) }
      case $ours in *" $2 "*) ours="$ours$pid " more=1 ;; esac
    done
  done
  for pid in $ours; do [ "$pid" = $$ ] || kill -TERM "$pid" 2>/dev/null; done
  exit 0
}
trap fin HUP PIPE TERM
rec READY 1
while IFS=' ' read -r id op rest; do
  case $op in
    read) set -- $rest; do_read "$id" "$@" ;;
    list) do_list "$id" $rest ;;
    *) rec "$id E $(b64 "unknown request: $op")" ;;
  esac
  rec "$id END"
done; fin
"""

_SAFE_WORD = re.compile(r"[A-Za-z0-9/:._+-]+")
_PLAIN_NAME = re.compile(rb"=[A-Za-z0-9/:._+-]+")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_STRERROR = {os.strerror(code): code for code in errno_module.errorcode}


class ProtocolError(ValueError):
    """An answer line that is not the reader's framing."""


def _words(*words: str) -> str:
    for word in words:
        if _SAFE_WORD.fullmatch(word) is None:
            raise ValueError(f"refusing to send {word!r} to a remote reader")
    return " ".join(words)


def read_request(request_id: int, timeout: float, max_bytes: int, paths: Sequence[str]) -> bytes:
    """Read these absolute paths; at most `max_bytes` each, `timeout` seconds each."""
    line = _words(str(request_id), "read", f"{timeout:.3f}", str(max_bytes), *paths)
    return f"{line}\n".encode("ascii")


def list_request(request_id: int, root: str) -> bytes:
    """List the migratable devices under `root`/vfio with their migration/ files."""
    return f"{_words(str(request_id), 'list', root)}\n".encode("ascii")


@dataclass(frozen=True)
class Record:
    request: int | None  # None for READY
    kind: str  # READY, F, T, D, P, E, END
    fields: tuple[bytes, ...]


# How many fields each record type carries (at least, at most); F's last field is the
# content or the error text, which may hold spaces.
_FIELDS = {
    "F": (1, None),  # index [base64 | error text]
    "T": (1, 2),  # index [what the file is, when not a regular file]
    "D": (1, 1),  # base64(device)
    "P": (2, 2),  # base64(device) base64(path under migration/)
    "E": (0, 1),  # [base64(error text)]
    "END": (0, 0),
}
_MAX_NUMBER = 18  # digits: request ids and file indexes are small

# Non-regular files the reader names in a T record, and how a person calls them.
FILE_TYPES = {
    b"fifo": "a FIFO",
    b"char-device": "a character device",
    b"block-device": "a block device",
    b"socket": "a socket",
}


def _number(value: bytes) -> int | None:
    return int(value) if value.isdigit() and len(value) <= _MAX_NUMBER else None


def parse_record(line: bytes) -> Record | None:
    """One answer line; None for a line that is not ours (rc-file noise). ProtocolError for
    a line that is framed as ours but is not a well-formed record."""
    start = line.find(MARK)
    if start < 0:
        return None
    parts = line[start + len(MARK) :].rstrip(b"\n").split(b" ")
    if parts[0] == b"READY":
        return Record(None, "READY", tuple(parts[1:]))
    request = _number(parts[0])
    if len(parts) < 2 or request is None:
        raise ProtocolError(f"not a reader record: {line[:80]!r}")
    kind = parts[1].decode("ascii", "replace")
    if kind not in _FIELDS:
        raise ProtocolError(f"unknown record type {kind[:20]!r}")
    fields = tuple(parts[2:])
    least, most = _FIELDS[kind]
    if len(fields) < least or (most is not None and len(fields) > most):
        raise ProtocolError(f"{kind} record with {len(fields)} fields: {line[:80]!r}")
    if kind in ("F", "T") and _number(fields[0]) is None:
        raise ProtocolError(f"{kind} record without a file index: {line[:80]!r}")
    if kind == "T" and len(fields) == 2 and fields[1] not in FILE_TYPES:
        raise ProtocolError(f"T record naming an unknown file type: {line[:80]!r}")
    return Record(request, kind, fields)


def decode_b64(value: bytes) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except binascii.Error:
        raise ProtocolError(f"bad base64 field {value[:40]!r}") from None


def decode_name(value: bytes) -> str:
    """A device or file name of a listing: "=" and the name itself when it is made of
    safe characters (the reader encodes those without starting a process), else base64."""
    if value.startswith(b"="):
        if _PLAIN_NAME.fullmatch(value) is None:
            raise ProtocolError(f"bad name field {value[:40]!r}")
        return value[1:].decode("ascii")
    return decode_b64(value)


@dataclass(frozen=True)
class FileAnswer:
    """The outcome of one file in a read request."""

    data: bytes | None = None
    message: str | None = None  # the host's error text when the read failed
    errno: int | None = None
    timed_out: bool = False
    file_type: str | None = None  # "a FIFO"... when a blocked file is not a regular file


def file_answer(record: Record) -> tuple[int, FileAnswer]:
    """(index, outcome) from an F or T record."""
    index = _number(record.fields[0]) if record.fields else None
    if record.kind not in ("F", "T") or index is None:
        raise ProtocolError("file record without an index")
    if record.kind == "T":
        shown = FILE_TYPES.get(record.fields[1]) if len(record.fields) > 1 else None
        return index, FileAnswer(timed_out=True, file_type=shown)
    payload = b" ".join(record.fields[1:])
    if _BASE64.fullmatch(payload):
        try:
            return index, FileAnswer(data=base64.b64decode(payload, validate=True))
        except binascii.Error:
            pass  # not base64 after all: an error text that happens to look like it
    message = payload.decode("utf-8", "replace").strip()
    return index, FileAnswer(message=message, errno=errno_from_message(message))


@dataclass(frozen=True)
class Listing:
    """A list request's answer: the devices and their files, or the host's error text."""

    devices: dict[str, list[str]]
    error: str | None = None


def device_listing(records: Sequence[Record]) -> Listing:
    """The devices (D) and files (P) of a list answer, or its error (E). ProtocolError if
    a record is not what a list answer holds."""
    devices: dict[str, list[str]] = {}
    for record in records:
        if record.kind == "E":
            message = decode_b64(record.fields[0]) if record.fields else ""
            return Listing(devices, message or "listing failed")
        if record.kind == "D":
            devices.setdefault(decode_name(record.fields[0]), [])
        elif record.kind == "P":
            name = decode_name(record.fields[0])
            if name not in devices:
                raise ProtocolError("a file record before its device record")
            devices[name].append(decode_name(record.fields[1]))
        else:
            raise ProtocolError(f"{record.kind} record in a device listing")
    return Listing({name: sorted(files) for name, files in devices.items()})


def errno_from_message(message: str) -> int | None:
    """The errno behind an error text such as `head: error reading 'x': Permission denied`."""
    for piece in reversed(message.split(": ")):
        code = _STRERROR.get(piece.strip())
        if code is not None:
            return code
    return None


# --- emitting (the simulator's SSH server answers with these) ----------------------------


def emit(request: int | None, kind: str, *fields: bytes | str) -> bytes:
    head = "READY" if request is None else f"{request} {kind}"
    parts = [head.encode("ascii")]
    parts += [f if isinstance(f, bytes) else f.encode("utf-8") for f in fields]
    return MARK + b" ".join(parts) + b"\n"


def b64(value: bytes | str) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw)


def name_field(value: str) -> bytes:
    """A listing's name as the reader sends it (see decode_name)."""
    plain = b"=" + value.encode("utf-8")
    return plain if _PLAIN_NAME.fullmatch(plain) else b64(value)


READY_LINE = emit(None, "READY", str(PROTOCOL_VERSION))


def head_error(path: str, code: int, opening: bool) -> str:
    """The text GNU head prints when it cannot open or read a file."""
    reason = os.strerror(code)
    if opening:
        return f"head: cannot open '{path}' for reading: {reason}"
    return f"head: error reading '{path}': {reason}"
