// How many bytes really came from the storage devices. The bytes the engine asks for are the
// same whether the page cache or the disk serves them; Linux counts the second kind per
// process (/proc/self/io read_bytes, the reads it submitted to block devices, readahead
// included), which is what tells a disk-bound run from a page-cache copy.
#pragma once

#include <cstdint>
#include <optional>

namespace rb {

// Bytes this process (all its threads) has had read from block devices so far; empty where the
// kernel does not count them (no /proc, no task I/O accounting).
std::optional<uint64_t> deviceReadBytes();

}  // namespace rb
