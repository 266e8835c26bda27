#pragma once
// JSON for the host's outgoing messages (PROTOCOL.md).
#include <nlohmann/json.hpp>
#include <string>

#include "torchclad/telemetry.h"

namespace host {

struct CellResult;
struct EngineInfo;

inline constexpr int kProtocolVersion = 1;

nlohmann::json telemetry_event(const torchclad::telemetry::Event& event);
nlohmann::json versions();
nlohmann::json execute_reply(const nlohmann::json& id, const CellResult& result, long execution_count);
nlohmann::json error_message(const nlohmann::json& id, const std::string& ename, const std::string& evalue);
// Standard base64 (RFC 4648, with padding), as display_data carries images.
std::string base64(const std::string& bytes);

}  // namespace host
