#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Stand-ins for the FreeBSD-only programs that FreeBSD's rc.subr and
# service(8) call, for rc.d/test-rcd.sh. Each behaves like FreeBSD's for
# what those scripts ask of it; where the outcome of a test depends on one
# (ps behind check_pidfile, limits behind sealpiped_limits, pwait behind
# stop), it does what FreeBSD's does, from /proc.
#
# usage: freebsd-shims.sh ROOT LOGDIR REALDIR: write them under ROOT
# (ROOT/usr/bin, ROOT/usr/sbin; /bin and /sbin are links to those on
# Debian), logging to LOGDIR; REALDIR holds copies of Debian's ps and env.
set -euo pipefail
root=$1 logs=$2 real=$3
mkdir -p "$root/usr/bin" "$root/usr/sbin"

shim() { # shim PATH: the script on stdin becomes an executable at PATH
    cat > "$root/$1"
    chmod 0555 "$root/$1"
}

# ps(1): rc.subr's _find_processes asks for "-o pid= -o jid= -o command="
# of one pid (-p) or of all (-ax). jid is the jail (0: the host). The
# command is the full argument vector. A zombie is left out: FreeBSD's
# init reaps a daemon at once, while this machine's PID 1 may take a
# second or more (rc.subr would count the zombie as running). Anything
# else goes to Debian's ps.
shim usr/bin/ps <<SH
#!/bin/sh
case " \$* " in
*" -o jid= "*) ;;
*) exec $real/ps "\$@" ;;
esac
pids=
while [ \$# -gt 0 ]; do
	case \$1 in
	-p) pids=\$2; shift ;;
	-ax|-a|-x) pids=\$(ls /proc | grep -E '^[0-9]+\$') ;;
	esac
	shift
done
for p in \$(echo "\$pids" | tr , ' '); do
	st=\$(sed 's/.*) //' /proc/\$p/stat 2>/dev/null) || continue
	[ "\${st%% *}" != Z ] || continue
	cmd=\$(tr '\\0' ' ' < /proc/\$p/cmdline 2>/dev/null | sed 's/ \$//')
	[ -n "\$cmd" ] || cmd="[\$(cat /proc/\$p/comm 2>/dev/null)]"
	echo "\$p 0 \$cmd"
done
SH

# env(1): service(8) runs every script as "env -i -L -/daemon ...";
# -L sets the login class's environment, which has nothing here.
shim usr/bin/env <<SH
#!/bin/sh
n=\$#
while [ \$n -gt 0 ]; do
	a=\$1
	shift
	n=\$((n - 1))
	case \$a in
	-L) shift; n=\$((n - 1)) ;;
	-L*) ;;
	-*) set -- "\$@" "\$a" ;;
	*) set -- "\$@" "\$a"; while [ \$n -gt 0 ]; do set -- "\$@" "\$1"; shift; n=\$((n - 1)); done ;;
	esac
done
exec $real/env "\$@"
SH

# sysctl(8): a host, not a jail, with no boot tracing.
shim usr/sbin/sysctl <<'SH'
#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in
	-n|-q) shift ;;
	*) break ;;
	esac
done
case $1 in
security.jail.jailed) echo 0 ;;
*) echo "sysctl: unknown oid '$1'" >&2; exit 1 ;;
esac
SH

# kenv(1): no loader variables (rc.debug unset).
shim usr/bin/kenv <<'SH'
#!/bin/sh
exit 1
SH

# logger(1): rc.subr's warn and err copy their line to syslog; here to a
# file the test reads.
shim usr/bin/logger <<SH
#!/bin/sh
echo "\$*" >> $logs/syslog
SH

# pwait(1): wait until every pid has exited (FreeBSD's waits with
# kqueue; this one polls, and gives up after 120 s so that nothing hangs).
shim usr/bin/pwait <<'SH'
#!/bin/sh
i=0
for p in "$@"; do
	case $p in -*) continue ;; esac
	while kill -0 "$p" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 1200 ] || { echo "pwait: $p still running after 120 s" >&2; exit 1; }
		sleep 0.1
	done
done
SH

# limits(1) -C class [-l|-n|-c value]... command: set the resource limits,
# then run the command, as FreeBSD's does. The login class's own limits
# (login.conf) are none here: only the flags count. Values: a number
# (bytes for -l and -c, with an optional k, m or g) or "unlimited". Each
# call is logged, so the test sees the class.
shim usr/bin/limits <<SH
#!/bin/sh
echo "limits \$*" >> $logs/limits.log
class=default
kib() { # bytes[kmg] -> KiB for ulimit
	case \$1 in
	unlimited|infinity) echo unlimited ;;
	*[kK]) echo \${1%?} ;;
	*[mM]) echo \$((\${1%?} * 1024)) ;;
	*[gG]) echo \$((\${1%?} * 1048576)) ;;
	*) echo \$((\$1 / 1024)) ;;
	esac
}
while [ \$# -gt 0 ]; do
	case \$1 in
	-C) class=\$2; shift 2 ;;
	-l) ulimit -l "\$(kib "\$2")" || exit 1; shift 2 ;;
	-c) ulimit -c "\$(kib "\$2")" || exit 1; shift 2 ;;
	-n) ulimit -n "\$2" || exit 1; shift 2 ;;
	-*) echo "limits: \$1: not known to this stand-in" >&2; exit 1 ;;
	*) break ;;
	esac
done
[ -n "\$class" ] || exit 1
exec "\$@"
SH

# rcorder(8) [-k keep] [-s skip] file...: the files that exist, without
# those with a skipped KEYWORD and, with -k, only those with a kept one.
# (FreeBSD's also sorts by PROVIDE/REQUIRE; the test has one script.)
shim usr/sbin/rcorder <<'SH'
#!/bin/sh
keep= skip=
while [ $# -gt 0 ]; do
	case $1 in
	-k) keep="$keep $2"; shift 2 ;;
	-s) skip="$skip $2"; shift 2 ;;
	*) break ;;
	esac
done
for f in "$@"; do
	[ -f "$f" ] || continue
	kw=$(sed -n 's/^# KEYWORD://p' "$f")
	ok=1
	for k in $skip; do case " $kw " in *" $k "*) ok= ;; esac; done
	if [ -n "$keep" ]; then
		hit=
		for k in $keep; do case " $kw " in *" $k "*) hit=1 ;; esac; done
		[ -n "$hit" ] || ok=
	fi
	[ -z "$ok" ] || echo "$f"
done
SH
