// SPDX-License-Identifier: BSD-2-Clause
// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, as
// OpenSSH does. A no-op when the variable is unset, and in a build without
// systemd (meson -Dsystemd, off where systemd is absent: FreeBSD).
#pragma once

#include <string>

namespace sealpipe::sys {

// Send ${state} (e.g. "READY=1\nSTATUS=...") to the service manager.
// Returns false if there is no $NOTIFY_SOCKET or the send failed.
bool sd_notify(const std::string &state) noexcept;

} // namespace sealpipe::sys
