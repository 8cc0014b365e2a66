// Finished parts of a probe, saved as they land so that an interrupted probe resumes: the probe
// of trained runs is done in parts (one run, one mask target, one subroutine), each from data
// streams of its own, so a part read back is the part probed again, up to its times.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "trainer/probe/search.h"

namespace hc::probe {

// What a saved part must match to stand for the part asked now: the run and its checkpoint
// file (size and modification time), the mask target, the subroutine and every probe setting.
struct PartKey {
  std::string run, checkpoint;
  int64_t checkpoint_bytes = 0, checkpoint_time = 0;
  std::string target, subroutine, settings;  // settings: the probe config as YAML
  nlohmann::json to_json() const;
};
// The key of a part: reads the checkpoint file's size and time.
PartKey part_key(const std::string& run, const std::string& checkpoint, MaskTarget target,
                 const std::string& subroutine, const ProbeConfig& config);

// The file name of a part in the probe's parts directory (the run's path made a file name).
std::string part_file_name(const PartKey& key);

// The part as JSON (every double exactly, NaN as null) and back.
nlohmann::json part_json(const PartKey& key, const ModelProbe& part);
// The saved part at `path` if it exists and its key is `key`; nullopt if it does not exist or
// was saved for another key. An unreadable file is an Error naming it.
std::optional<ModelProbe> read_part(const std::string& path, const PartKey& key);

}  // namespace hc::probe
