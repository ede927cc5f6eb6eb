// Page-cache control for cold-start measurements: how much of a file the kernel holds in
// memory, and asking it to drop those pages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rb::sysbench {

struct Residency {
  uint64_t pages = 0;
  uint64_t residentPages = 0;
  /** Resident share of the file's pages; 0 for an empty file. */
  double fraction() const { return pages == 0 ? 0.0 : static_cast<double>(residentPages) / static_cast<double>(pages); }
};

/**
 * Page-cache residency of a file (mincore on a mapping of it). Throws when the kernel would
 * not tell the truth: since Linux 5.0 mincore reports cached pages only for files the caller
 * owns or may write, and reads as "not resident" for all others.
 */
Residency pageCacheResidency(const std::string& file);

enum class EvictStatus { Evicted, StillResident, Unverifiable };

struct EvictResult {
  std::string file;
  uint64_t bytes = 0;
  /** Resident fractions around the eviction; empty when residency cannot be observed. */
  std::optional<double> residentBefore;
  std::optional<double> residentAfter;
  EvictStatus status = EvictStatus::Unverifiable;
};

/** Drops every file's clean pages from the page cache; throws naming the first file that fails. */
std::vector<EvictResult> evictFromPageCache(const std::vector<std::string>& files);

const char* evictStatusName(EvictStatus status);

}  // namespace rb::sysbench
