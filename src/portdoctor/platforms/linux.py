"""Linux back-end: sockets from the kernel's sock_diag netlink interface, holders from /proc.

Sockets: one NETLINK_SOCK_DIAG dump per (family, protocol), filtered to the port *in the kernel*
with inet_diag bytecode (what ``ss 'sport = :PORT'`` does), written against the stdlib ``_socket``
module: pyroute2 would cost ~150 ms of import for four small structs. /proc/net/{tcp,tcp6,udp,udp6}
is the fallback, and the way to see the sockets of other network namespaces (read through
/proc/PID/net of one process in each).

Holders: the only way to map a socket inode to processes is to read every process's fd table
(/proc/PID/fd/*), which dominates the cost on a busy machine. The scan opens each fd directory once
and reads links relative to it (no path walk per fd), skips processes whose fds it provably cannot
read, and splits the work over forked workers, one per CPU, when the machine is busy.
"""

from __future__ import annotations

import os
import sys

from ..model import TCP, TCP_STATES, UDP, UNCONN, Hidden, ProcessRef, Socket
from ..untrusted import MAX_CMDLINE, MAX_ENV, nul_fields, read_proc
from .common import DENIED, GONE, RECYCLED, ProcessFacts, full_name, posix_username, same_start, sudo_hint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

NAME = "linux"

_AF_INET = 2
_AF_INET6 = 10
_AF_NETLINK = 16
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_INET_DIAG_REQ_BYTECODE = 1
_INET_DIAG_BC_S_GE = 2
_INET_DIAG_BC_S_LE = 3
_INET_DIAG_SKV6ONLY = 11
_IPPROTO = {TCP: 6, UDP: 17}
_TCP_LISTEN_BIT = 1 << 10
_ALL_STATES = 0xFFFFFFFF
_PF_KTHREAD = 0x00200000

# The structs are packed and read with int.to_bytes and memoryview casts, in the host's byte
# order: the _struct extension costs ~0.3 ms to load, 2% of `why`'s run.
# nlmsghdr: u32 length, u16 type, u16 flags, u32 seq, u32 pid.
_NLMSGHDR_SIZE = 16
# inet_diag_msg: u8 family, state, timer, retrans; sockid (u16 sport, dport big-endian, src[16],
# dst[16], u32 if, u32 cookie[2]); u32 expires, rqueue, wqueue, uid, inode.
_MSG_LEN = 72
_HOST = sys.byteorder


def _u16(value: int) -> bytes:
    return value.to_bytes(2, _HOST)


def _u32(value: int) -> bytes:
    return value.to_bytes(4, _HOST)


def _nlmsg(mtype: int, flags: int, seq: int, body: bytes) -> bytes:
    """A netlink message: the nlmsghdr (our pid left 0, for the kernel to fill), then ``body``."""
    return _u32(_NLMSGHDR_SIZE + len(body)) + _u16(mtype) + _u16(flags) + _u32(seq) + _u32(0) + body


class NetlinkUnavailable(OSError):
    """sock_diag could not be used (no netlink, a seccomp filter, an old kernel)."""


def _bytecode(port: int) -> bytes:
    """inet_diag bytecode accepting sockets whose local port is ``port``.

    Two conditions, each an op followed by an op carrying the port: 'yes' moves to the next
    condition, 'no' jumps past the end (len + 4), which the kernel reads as a reject.
    """
    # inet_diag_bc_op: u8 code, u8 yes, u16 no; the port goes in the 'no' of the op after it.
    ge = bytes((_INET_DIAG_BC_S_GE, 8)) + _u16(20) + b"\0\0" + _u16(port)
    le = bytes((_INET_DIAG_BC_S_LE, 8)) + _u16(12) + b"\0\0" + _u16(port)
    return ge + le


def _ntop(family: int, raw: bytes) -> str:
    import _socket

    if family == _AF_INET:
        return _socket.inet_ntop(_AF_INET, raw[:4])
    return _socket.inet_ntop(_AF_INET6, raw)


def _state_name(protocol: str, state: int) -> str:
    if protocol == UDP:
        return UNCONN if state == 7 else TCP_STATES.get(state, str(state))
    return TCP_STATES.get(state, str(state))


def own_netns() -> int | None:
    """The inode of our network namespace."""
    try:
        return os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return None


def _netlink_dump(
    port: int | None, protocols: Sequence[str], listening_only: bool, netns: int | None
) -> list[Socket]:
    import _socket

    try:
        sock = _socket.socket(_AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, _NETLINK_SOCK_DIAG)
    except OSError as exc:
        raise NetlinkUnavailable(exc.errno, f"sock_diag unavailable: {exc}") from exc
    found: list[Socket] = []
    try:
        attr = b""
        if port is not None:
            code = _bytecode(port)
            attr = _u16(4 + len(code)) + _u16(_INET_DIAG_REQ_BYTECODE) + code  # an rtattr
        seq = 0
        for protocol in protocols:
            if listening_only:
                states = _TCP_LISTEN_BIT if protocol == TCP else _ALL_STATES
            else:
                states = _ALL_STATES
            for family in (_AF_INET, _AF_INET6):
                seq += 1
                # inet_diag_req_v2: u8 family, protocol, ext, pad; u32 states; a zero sockid.
                body = bytes((family, _IPPROTO[protocol], 0, 0)) + _u32(states) + b"\0" * 48 + attr
                sock.sendto(_nlmsg(_SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST | _NLM_F_DUMP, seq, body), (0, 0))
                _read_dump(sock, protocol, netns, found)
    finally:
        sock.close()
    return found


def _read_dump(sock: object, protocol: str, netns: int | None, found: list[Socket]) -> None:
    recv = sock.recv  # type: ignore[attr-defined]
    while True:
        data: bytes = recv(1 << 17)
        if not data:
            return
        off = 0
        end = len(data) & ~3  # netlink messages are 4-byte aligned
        words = memoryview(data)[:end].cast("I")  # u32 at byte offset o: words[o >> 2]
        halves = memoryview(data)[:end].cast("H")  # u16 at byte offset o: halves[o >> 1]
        while off + _NLMSGHDR_SIZE <= end:
            length = words[off >> 2]
            mtype = halves[(off >> 1) + 2]
            if length < _NLMSGHDR_SIZE:
                return
            if mtype == _NLMSG_DONE:
                return
            if mtype == _NLMSG_ERROR:
                at = off + _NLMSGHDR_SIZE
                err = int.from_bytes(data[at : at + 4], _HOST, signed=True)
                if err:
                    raise NetlinkUnavailable(-err, os.strerror(-err))
                return
            msg = off + _NLMSGHDR_SIZE
            found.append(_parse_msg(data, words, halves, msg, min(off + length, end), protocol, netns))
            off += (length + 3) & ~3


def _parse_msg(
    data: bytes, words: memoryview, halves: memoryview, msg: int, end: int, protocol: str, netns: int | None
) -> Socket:
    """One inet_diag_msg at byte ``msg`` (4-aligned) of ``data``, its attributes up to ``end``."""
    family, state, timer = data[msg], data[msg + 1], data[msg + 2]
    sport = data[msg + 4] << 8 | data[msg + 5]
    dport = data[msg + 6] << 8 | data[msg + 7]
    src = data[msg + 8 : msg + 24]
    dst = data[msg + 24 : msg + 40]
    tail = (msg + 52) >> 2
    expires, uid, inode = words[tail], words[tail + 3], words[tail + 4]
    v6only = None
    off = msg + _MSG_LEN
    while off + 4 <= end:
        alen, atype = halves[off >> 1], halves[(off >> 1) + 1]
        if alen < 4:
            break
        if atype == _INET_DIAG_SKV6ONLY:
            v6only = bool(data[off + 4])
        off += (alen + 3) & ~3
    is_tw = state == 6  # TIME_WAIT remnants carry neither uid nor inode
    connected = state not in (10, 7)
    return Socket(
        protocol=protocol,
        family="ipv4" if family == _AF_INET else "ipv6",
        address=_ntop(family, src),
        port=sport,
        state=_state_name(protocol, state),
        uid=None if is_tw else uid,
        inode=inode,
        netns=netns,
        remote_address=_ntop(family, dst) if connected else None,
        remote_port=dport if connected else None,
        v6only=v6only if family == _AF_INET6 else None,
        expires=expires / 1000.0 if timer else None,
    )


def _hex_addr(text: str, family: str) -> str:
    import _socket

    raw = bytes.fromhex(text)
    if sys.byteorder == "little":
        # /proc/net prints each 32-bit word in host order.
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return _socket.inet_ntop(_AF_INET if family == "ipv4" else _AF_INET6, raw)


def _proc_net(
    base: str,
    port: int | None,
    protocols: Sequence[str],
    listening_only: bool,
    netns: int | None,
    foreign: bool,
) -> list[Socket]:
    """Parse /proc/net/{tcp,tcp6,udp,udp6} (or /proc/PID/net/...) for sockets on ``port``."""
    found: list[Socket] = []
    want = f":{port:04X}" if port is not None else None
    for protocol in protocols:
        for suffix, family in (("", "ipv4"), ("6", "ipv6")):
            try:
                with open(f"{base}/{protocol}{suffix}", encoding="utf-8") as fh:
                    next(fh, None)
                    for line in fh:
                        if want is not None and want not in line:
                            continue  # cheap: most lines are other ports
                        parts = line.split()
                        if len(parts) < 10:
                            continue
                        local = parts[1]
                        if want is not None and not local.endswith(want):
                            continue
                        state = int(parts[3], 16)
                        if listening_only and protocol == TCP and state != 10:
                            continue
                        laddr, lport = local.split(":")
                        raddr, rport = parts[2].split(":")
                        connected = state not in (10, 7)
                        found.append(
                            Socket(
                                protocol=protocol,
                                family=family,
                                address=_hex_addr(laddr, family),
                                port=int(lport, 16),
                                state=_state_name(protocol, state),
                                uid=None if state == 6 else int(parts[7]),
                                inode=int(parts[9]),
                                netns=netns,
                                remote_address=_hex_addr(raddr, family) if connected else None,
                                remote_port=int(rport, 16) if connected else None,
                                foreign_netns=foreign,
                            )
                        )
            except (FileNotFoundError, PermissionError, ProcessLookupError):
                continue
    return found


def _pids() -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def _foreign_netns(pids: Iterable[int], own: int | None) -> dict[int, int]:
    """One pid for each network namespace other than ours: {netns inode: pid}."""
    seen: dict[int, int] = {}
    if own is None:
        return seen
    for pid in pids:
        try:
            link = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            continue
        ino = int(link[5:-1])  # "net:[4026531840]"
        if ino != own and ino not in seen:
            seen[ino] = pid
    return seen


def sockets(
    port: int | None,
    protocols: Sequence[str] = (TCP,),
    *,
    listening_only: bool = False,
    all_netns: bool = True,
    pids: Sequence[int] | None = None,
) -> list[Socket]:
    """Sockets whose local port is ``port`` (all ports when None), in every network namespace we
    can see (others marked ``foreign_netns``)."""
    own = own_netns()
    try:
        found = _netlink_dump(port, protocols, listening_only, own)
    except NetlinkUnavailable:
        found = _proc_net("/proc/net", port, protocols, listening_only, own, False)
    if all_netns:
        for ino, pid in _foreign_netns(_pids() if pids is None else pids, own).items():
            found.extend(_proc_net(f"/proc/{pid}/net", port, protocols, listening_only, ino, True))
    return found


# --- holders: the fd scan -------------------------------------------------------------------


def _scan(
    pids: Sequence[int], targets: dict[str, int], my_uid: int
) -> tuple[list[tuple[int, int]], list[int]]:
    """Read the fd tables of ``pids``; return (pid, inode) matches and the pids we could not read.

    ``targets`` maps the text of an fd's link to its inode: ``socket:[INODE]`` for the holders of
    sockets (:func:`scan_fds`), ``pipe:[INODE]`` for those of a pipe (:func:`pipe_writers`).
    """
    matches: list[tuple[int, int]] = []
    denied: list[int] = []
    open_ = os.open
    close = os.close
    listdir = os.listdir
    readlink = os.readlink
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    get = targets.get
    for pid in pids:
        path = f"/proc/{pid}/fd"
        if my_uid:
            # Unprivileged: another user's fd table is unreadable; don't pay for trying.
            try:
                if os.stat(f"/proc/{pid}").st_uid != my_uid:
                    denied.append(pid)
                    continue
            except OSError:
                continue
        try:
            dfd = open_(path, flags)
        except PermissionError:
            denied.append(pid)
            continue
        except OSError:
            continue  # gone
        try:
            for name in listdir(dfd):
                try:
                    inode = get(readlink(name, dir_fd=dfd))
                except PermissionError:
                    # Listing worked but reading links did not (ptrace rules, another
                    # user namespace): this table is unreadable as a whole.
                    denied.append(pid)
                    break
                except OSError:
                    continue  # the fd was closed under us
                if inode is not None:
                    matches.append((pid, inode))
        except PermissionError:
            denied.append(pid)
        except OSError:
            pass
        finally:
            close(dfd)
    return matches, denied


def _workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


def _single_threaded() -> bool:
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


# Below this many processes a fork costs more than it saves.
PARALLEL_THRESHOLD = 300


def scan_fds(pids: Sequence[int], inodes: Iterable[int]) -> tuple[dict[int, list[int]], list[int]]:
    """Map socket inodes to the pids holding them: ({inode: [pid...]}, unreadable pids).

    Complete: every process's fd table is read (or reported unreadable). On a busy machine the
    pids are split over forked workers, one per CPU, each reading its share.
    """
    targets = {f"socket:[{i}]": i for i in inodes if i}
    result: dict[int, list[int]] = {}
    if not targets:
        return result, []
    my_uid = os.geteuid()
    workers = _workers()
    pairs: list[tuple[int, int]]
    denied: list[int]
    if workers > 1 and len(pids) >= PARALLEL_THRESHOLD and _single_threaded():
        pairs, denied = _scan_parallel(pids, targets, my_uid, workers)
    else:
        pairs, denied = _scan(pids, targets, my_uid)
    for pid, inode in pairs:
        lst = result.setdefault(inode, [])
        if pid not in lst:
            lst.append(pid)
    return result, denied


def _scan_parallel(
    pids: Sequence[int], targets: dict[str, int], my_uid: int, workers: int
) -> tuple[list[tuple[int, int]], list[int]]:
    shares = [pids[i::workers] for i in range(workers)]
    children: list[tuple[int, int]] = []
    for share in shares[1:]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(r)
                got, bad = _scan(share, targets, my_uid)
                out = "".join(f"{p} {i}\n" for p, i in got) + "".join(f"- {p}\n" for p in bad)
                data = out.encode()
                while data:
                    n = os.write(w, data)
                    data = data[n:]
            finally:
                os._exit(0)
        os.close(w)
        children.append((pid, r))
    pairs, denied = _scan(shares[0], targets, my_uid)
    for pid, r in children:
        chunks = []
        while True:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        os.waitpid(pid, 0)
        for line in b"".join(chunks).decode().splitlines():
            a, b = line.split()
            if a == "-":
                denied.append(int(b))
            else:
                pairs.append((int(a), int(b)))
    return pairs, denied


def attach_holders(
    found: Sequence[Socket], pids: Sequence[int] | None = None
) -> tuple[list[Socket], list[Hidden], set[int]]:
    """Fill ``holders`` of each socket; list those whose holders we could not see."""
    if pids is None:
        pids = _pids()
    holders, denied = scan_fds(pids, (s.inode for s in found))
    out: list[Socket] = []
    hidden: list[Hidden] = []
    privileged = os.geteuid() == 0
    owners: dict[int, int | None] = {}
    for s in found:
        pids_for = tuple(sorted(holders.get(s.inode, ()))) if s.inode else ()
        out.append(s.replace(holders=pids_for) if pids_for else s)
        if pids_for or not s.inode:
            continue
        hidden.append(_hidden(s, denied, privileged, owners))
    return out, hidden, set(denied)


# --- the other end of a pipe -------------------------------------------------------------------

_O_ACCMODE = 0o3


def pipe_writers(fd: int) -> list[int]:
    """The other processes that hold the write end of the pipe ``fd`` reads (``cmd | portdoctor``):
    [] when ``fd`` is not an anonymous pipe, or none we may read holds it.

    The pipe's inode is matched in every fd table by the same scan as the holders of a socket;
    then, in the few processes that hold it, /proc/PID/fdinfo says which end each fd is (both
    ends link to the same ``pipe:[INODE]``): a process that only reads it (our own workers) is
    no writer. Their links are read, never followed, and fdinfo with a small cap.
    """
    try:
        link = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return []
    if not (link.startswith("pipe:[") and link.endswith("]") and link[6:-1].isdigit()):
        return []  # a file, a terminal, a socket, a named FIFO: no anonymous writer to find
    me = os.getpid()
    pids = [p for p in _pids() if p != me]
    pairs, _denied = _scan(pids, {link: int(link[6:-1])}, os.geteuid())
    return sorted({pid for pid, _inode in pairs if _writes(pid, link)})


def _writes(pid: int, link: str) -> bool:
    """True when one of ``pid``'s fds that link to ``link`` is open for writing."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names[:MAX_FDS_READ]:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") != link:
                continue
        except OSError:
            continue
        info = read_proc(f"/proc/{pid}/fdinfo/{name}", 4096) or b""
        for line in info.split(b"\n"):
            if line.startswith(b"flags:"):
                try:
                    if int(line[6:].strip(), 8) & _O_ACCMODE != os.O_RDONLY:
                        return True
                except ValueError:
                    pass
    return False


MAX_FDS_READ = 1 << 16  # fds looked at per holder of our pipe (a process chooses how many it opens)

CANDIDATES = 20  # at most this many candidate processes are named per hidden socket


def _owner(pid: int) -> int | None:
    """The effective uid of ``pid`` (the owner of its /proc directory), None when it is gone."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _candidate(pid: int) -> ProcessRef | None:
    """pid, name and command line of a process we may not inspect (what /proc shows anyone);
    None for a kernel thread (it holds no socket file descriptor) or a process that is gone."""
    st = read_stat(pid)
    if st is None or pid == 2 or st[1][1] == b"2" or int(st[1][6]) & _PF_KTHREAD:
        return None
    cmdline = tuple(nul_fields(read_proc(f"/proc/{pid}/cmdline", MAX_CMDLINE) or b""))
    return ProcessRef(pid, full_name(st[0], cmdline), cmdline, _owner(pid))


def _mentions(ref: ProcessRef, port: int) -> bool:
    """True when the command line names the port (``8000``, ``:8000``, ``--port=8000``)."""
    import re

    pattern = re.compile(rf"(?<![0-9]){port}(?![0-9])")
    return any(pattern.search(arg[:4096]) for arg in ref.cmdline[1:64])


def _by_owner(uid: int, denied: Sequence[int], owners: dict[int, int | None]) -> list[int]:
    for pid in denied:
        if pid not in owners:
            owners[pid] = _owner(pid)
    return sorted(p for p in denied if owners.get(p) == uid)


def _hidden(
    s: Socket, denied: Sequence[int], privileged: bool, owners: dict[int, int | None] | None = None
) -> Hidden:
    """Why nobody was found holding ``s``, and what would show the holder."""

    user = username(s.uid)
    if denied and not privileged and s.uid is not None and s.uid != os.geteuid():
        refs = [_candidate(p) for p in _by_owner(s.uid, denied, {} if owners is None else owners)]
        mine = [r for r in refs if r is not None]
        if mine:
            owner = user or f"uid {s.uid}"
            named = [r for r in mine if _mentions(r, s.port)]
            # Those whose command line names the port first: the likeliest holders.
            candidates = tuple(named + [r for r in mine if r not in named])[:CANDIDATES]
            listed = f" (the first {len(candidates)} are listed)" if len(mine) > len(candidates) else ""
            clue = ""
            if named:
                pids = ", ".join(str(r.pid) for r in named[:5])
                clue = (
                    f"; pid {pids} names port {s.port} in its command line"
                    if len(named) == 1
                    else f"; pids {pids} name port {s.port} in their command lines"
                )
            who = "as root" if s.uid == 0 else f"as root, or as {owner}"
            return Hidden(
                inode=s.inode,
                uid=s.uid,
                user=user,
                reason=(
                    f"the socket belongs to {owner} (uid {s.uid}); its holder is one of {owner}'s "
                    f"{len(mine)} processes{listed}{clue}. Matched by owner, not proven: only reading "
                    f"their file descriptors ({who}) proves which one holds it"
                ),
                hint=sudo_hint(s),
                candidates=candidates,
            )
    if denied and not privileged:
        owner = "you" if s.uid == os.geteuid() else (user or f"uid {s.uid}")
        return Hidden(
            inode=s.inode,
            uid=s.uid,
            user=user,
            reason=(
                f"the socket belongs to {owner}; its holder is among {len(denied)} processes "
                "whose file descriptors you cannot read"
            ),
            hint=sudo_hint(s),
        )
    if denied:
        shown = ", ".join(str(p) for p in sorted(denied)[:5])
        return Hidden(
            inode=s.inode,
            uid=s.uid,
            user=user,
            reason=(
                f"its holder is among processes whose file descriptors cannot be read even with "
                f"privileges (pid {shown}: another user namespace or a protected process)"
            ),
            hint=None,
        )
    return Hidden(
        inode=s.inode,
        uid=s.uid,
        user=user,
        reason=(
            "no process holds a file descriptor of it: it is in flight between processes "
            "(SCM_RIGHTS) or held by the kernel"
        ),
        hint=None,
    )


def username(uid: int | None) -> str | None:
    """The login name of ``uid`` (cached), or None."""
    return posix_username(uid)


# --- process facts --------------------------------------------------------------------------

_BOOT_TIME: float | None = None
_CLK_TCK: int | None = None


def _boot_time() -> float:
    global _BOOT_TIME
    if _BOOT_TIME is None:
        with open("/proc/stat", "rb") as fh:
            for line in fh:
                if line.startswith(b"btime"):
                    _BOOT_TIME = float(line.split()[1])
                    break
            else:  # pragma: no cover
                _BOOT_TIME = 0.0
    return _BOOT_TIME


def _clk_tck() -> int:
    global _CLK_TCK
    if _CLK_TCK is None:
        _CLK_TCK = os.sysconf("SC_CLK_TCK")
    return _CLK_TCK


def _tty_name(tty_nr: int) -> str | None:
    if tty_nr == 0:
        return None
    major = (tty_nr >> 8) & 0xFFF
    minor = (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    if 136 <= major <= 143:
        return f"pts/{minor + (major - 136) * 256}"
    if major == 4:
        return f"tty{minor}" if minor < 64 else f"ttyS{minor - 64}"
    return f"tty({major},{minor})"


def read_stat(pid: int) -> tuple[str, list[bytes]] | None:
    """The name and the fields after it of /proc/PID/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    lpar = data.find(b"(")
    rpar = data.rfind(b")")
    name = data[lpar + 1 : rpar].decode("utf-8", "replace")
    return name, data[rpar + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (stable identity with the pid)."""
    st = read_stat(pid)
    return int(st[1][19]) if st else None


def _read_text(path: str) -> str | None:
    """A /proc file of a process, size-capped: the process chooses its command line and
    environment, and may make them as large as its stack limit allows."""
    data = read_proc(path)
    return None if data is None else data.decode("utf-8", "surrogateescape")


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def process(pid: int) -> ProcessFacts | None:
    """Raw facts about ``pid`` from /proc; None when it is gone."""
    st = read_stat(pid)
    if st is None:
        return None
    name, fields = st
    ppid = int(fields[1])
    tty = _tty_name(int(fields[4]))
    kthread = bool(int(fields[6]) & _PF_KTHREAD)
    started = _boot_time() + int(fields[19]) / _clk_tck()
    cmdline = tuple(nul_fields(read_proc(f"/proc/{pid}/cmdline", MAX_CMDLINE) or b""))
    uid: int | None = None
    status = _read_text(f"/proc/{pid}/status")
    if status:
        i = status.find("\nUid:")
        if i >= 0:
            uid = int(status[i + 5 :].split(None, 1)[0])
    return ProcessFacts(
        pid=pid,
        ppid=ppid,
        name=full_name(name, cmdline),  # comm keeps 15 bytes: "my-long-server-"
        cmdline=cmdline,
        exe=_readlink(f"/proc/{pid}/exe"),
        uid=uid,
        user=username(uid),
        cwd=_readlink(f"/proc/{pid}/cwd"),
        started=started,
        tty=tty,
        kernel_thread=kthread,
    )


def environ(pid: int) -> dict[str, str] | None:
    """The environment ``pid`` started with (/proc/PID/environ), None when unreadable."""
    raw = read_proc(f"/proc/{pid}/environ")
    if raw is None:
        return None
    env: dict[str, str] = {}
    for item in nul_fields(raw, MAX_ENV):
        key, sep, value = item.partition("=")
        if sep:
            env[key] = value
    return env


def cgroup(pid: int) -> str | None:
    """The cgroup path of ``pid``: the unified (v2) one, else systemd's v1 one."""
    text = _read_text(f"/proc/{pid}/cgroup")
    return parse_cgroup(text) if text else None


def cgroup_paths(text: str) -> list[str]:
    """The paths of /proc/PID/cgroup contents worth looking at: unified first, then name=systemd."""
    unified: list[str] = []
    named: list[str] = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            unified.append(path)
        elif controllers == "name=systemd":
            named.append(path)
    return unified + named


def parse_cgroup(text: str) -> str | None:
    """Pick the useful path out of /proc/PID/cgroup contents (the root only when it is all)."""
    paths = cgroup_paths(text)
    return next((p for p in paths if p not in ("/", "")), paths[0] if paths else None)


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        text = _read_text(f"/proc/{pid}/task/{tid}/children")
        if text is None:
            return _children_by_scan(pid)
        kids.extend(int(x) for x in text.split())
    return kids


def _children_by_scan(pid: int) -> list[int]:
    kids = []
    for p in _pids():
        st = read_stat(p)
        if st and int(st[1][1]) == pid:
            kids.append(p)
    return kids


def all_pids() -> list[int]:
    """Every pid (thread-group leaders) on the machine."""
    return _pids()


def start_time(pid: int) -> float | None:
    """When ``pid`` started, in seconds since the epoch (with the pid, a process's identity)."""
    ticks = start_ticks(pid)
    return None if ticks is None else _boot_time() + ticks / _clk_tck()


# --- holding a process still, and signalling it (for _free.py) -------------------------------


class Pinned:
    """A process held still, so that a signal can only reach it: a pidfd (Linux >= 5.3), else
    its pid and start time, checked again right before each signal."""

    def __init__(self, pid: int, started: float | None, fd: int | None) -> None:
        self.pid = pid
        self.started = started
        self.fd = fd

    def signal(self, kill: bool = False) -> str:
        """SIGTERM (SIGKILL with ``kill``) it: "sent", GONE, DENIED or RECYCLED."""
        import signal

        sig = signal.SIGKILL if kill else signal.SIGTERM
        try:
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, sig)
            else:
                again, why = pin(self.pid, self.started)
                if again is None:
                    return why or GONE
                os.kill(self.pid, sig)
        except ProcessLookupError:
            return GONE
        except PermissionError:
            return DENIED
        return "sent"

    def alive(self) -> bool:
        """True while the process has not exited (a zombie has)."""
        if self.fd is not None:
            import select

            readable, _, _ = select.select([self.fd], [], [], 0)
            return not readable  # a pidfd becomes readable when its process exits
        again, _ = pin(self.pid, self.started)
        if again is None:
            return False
        again.close()
        return True

    def close(self) -> None:
        """Let it go (closes the pidfd)."""
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:  # pragma: no cover
                pass
            self.fd = None


def pin(pid: int, started: float | None) -> tuple[Pinned | None, str | None]:
    """Hold the process ``pid`` that started at ``started``; (None, GONE/RECYCLED) when it cannot."""
    fd: int | None = None
    if hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return None, GONE
        except OSError:  # ENOSYS (kernel < 5.3), EPERM in some sandboxes: fall back to the checks
            fd = None
    # Checked *after* the pidfd is open: if the start time still matches, the pidfd is that process.
    st = read_stat(pid)
    seen = None if st is None else _boot_time() + int(st[1][19]) / _clk_tck()
    why = GONE if st is None or st[1][:1] == [b"Z"] else None if same_start(started, seen) else RECYCLED
    if why is not None:
        if fd is not None:
            os.close(fd)
        return None, why
    return Pinned(pid, started, fd), None
