// SPDX-License-Identifier: BSD-2-Clause
// Turning command-line options into a running configuration: keys,
// resolved addresses and the engine's TunnelConfig; printing it for
// --check; reloading keys on SIGHUP.
#pragma once

#include "app/daemon_options.hpp"
#include "net/address.hpp"
#include "tunnel/config.hpp"
#include "tunnel/context.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sealpipe::app {

struct Plan {
    tunnel::TunnelConfig cfg;
    net::SockAddr source;     // resolved listen address
    net::Address target_addr; // as parsed, for re-resolution
    tunnel::Targets targets;  // resolved now
};

// Load the keys named by ${paths}, in order: a file is one key, a directory
// contributes its *.key files in name order (DESIGN.md §3.4: at most 8 in
// all). The -e side uses the first. Throws crypto::KeyFileError.
std::shared_ptr<tunnel::KeySet> load_keys(const std::vector<std::string> &paths,
                                          const crypto::KeyLoadOptions &opts);
// The key-file rules for --insecure-key-permissions ${insecure} and
// --protocol ${protocol}: spiped's accepts key files of any length.
// ${run_as_uid}: the -u user, who may own the key files too.
crypto::KeyLoadOptions key_options(bool insecure, const std::string &protocol,
                                   std::optional<uid_t> run_as_uid = std::nullopt);

// The transport-cipher mask for --cipher ${name}. Throws
// std::invalid_argument if the CPU cannot run the requested cipher.
uint8_t cipher_mask(const std::string &name);

// Resolve the addresses and build the engine configuration. With -D,
// lookups are retried every second until they succeed. Throws
// net::AddressError or std::invalid_argument.
Plan make_plan(const DaemonOptions &o);

// --check output, on stdout.
void print_plan(const DaemonOptions &o, const Plan &plan, const tunnel::KeySet &keys);

// The names in key directory ${dir} that name keys: "*.key", not hidden,
// in name order. Throws crypto::KeyFileError if it cannot be read.
std::vector<std::string> key_names(const std::string &dir);

// If ${dir} is laid out as a Kubernetes Secret (or ConfigMap) volume, the
// name of the generation directory its ..data link leads to now
// ("..2026_12_05_..."); nullopt for a plain directory. Throws
// crypto::KeyFileError if ..data is there but not as the kubelet makes it
// (a link to a ..name directory beside it, both root's or ours, the
// directory not writable by group or others).
std::optional<std::string> projected_generation(const std::string &dir);

// SIGHUP: load the key files again and swap them in for new connections.
// On any error keep the current keys and log why. ${why} starts the log
// line ("SIGHUP", "key files changed"). Never throws.
void reload_keys(tunnel::Context &ctx, const std::vector<std::string> &paths,
                 const crypto::KeyLoadOptions &opts, const char *why = "SIGHUP");

// What --key-poll compares: for each key path, the identity, size and
// times of every key file it names (through symlinks), and a Secret
// volume's ..data target. Changes whenever a reload could load something
// else; costs a few stat(2) calls. Never throws.
std::string key_files_stamp(const std::vector<std::string> &paths);

} // namespace sealpipe::app
