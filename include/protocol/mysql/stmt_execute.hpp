// COM_STMT_EXECUTE's parameters (MySQL protocol 10, binary protocol), decoded so that the guard
// can read the values of a prepared INSERT's key columns. Sans-io, no allocation but the
// parameter list.
//
// Payload: 0x17, statement id (4), flags (1: cursor type), iteration count (4, always 1); then,
// when the statement has parameters, a NULL bitmap of (n + 7) / 8 bytes (bit i = parameter i is
// NULL), new-params-bound flag (1), and when it is 1 the types (2 bytes each: type, 0x80 for
// UNSIGNED); then each value that is neither NULL nor sent earlier by COM_STMT_SEND_LONG_DATA, in
// its type's binary form. When the flag is 0 the types are the ones bound at the statement's
// previous execute, which the caller keeps.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

// Column/parameter types (enum_field_types).
namespace field_type {
constexpr std::uint8_t decimal = 0, tiny = 1, short_ = 2, long_ = 3, float_ = 4, double_ = 5,
                       null = 6, timestamp = 7, longlong = 8, int24 = 9, date = 10, time = 11,
                       datetime = 12, year = 13, varchar = 15, bit = 16, json = 245,
                       newdecimal = 246, enum_ = 247, set = 248, tiny_blob = 249, medium_blob = 250,
                       long_blob = 251, blob = 252, var_string = 253, string = 254, geometry = 255;
}

// The string and BLOB types: the only ones MariaDB takes COM_STMT_SEND_LONG_DATA for.
constexpr bool is_string_type(std::uint8_t type) {
    return type == field_type::varchar || type == field_type::var_string ||
           type == field_type::string || type == field_type::tiny_blob ||
           type == field_type::medium_blob || type == field_type::long_blob ||
           type == field_type::blob;
}

// The BLOB types: their bytes are binary to the server, stored as they are, not converted from
// the client's character set.
constexpr bool is_blob_type(std::uint8_t type) {
    return type == field_type::tiny_blob || type == field_type::medium_blob ||
           type == field_type::long_blob || type == field_type::blob;
}

struct ParamType {
    std::uint8_t type = field_type::var_string;
    bool is_unsigned = false;
    bool operator==(const ParamType&) const = default;
};

struct ExecuteParam {
    ParamType type;
    bool is_null = false;
    bool long_data = false;       // its value came in COM_STMT_SEND_LONG_DATA packets, not here
                                  // (then the NULL bit is not read: the server ignores it too)
    bool long_data_kept = false;  // long data that the proxy kept: in `value`
    util::Bytes value;  // the binary form (a length-encoded string's contents, without its
                        // length); points into the payload, or into the kept long data
};

struct StmtExecute {
    std::uint32_t statement_id = 0;
    std::uint8_t flags = 0;
    bool new_params_bound = false;
    std::vector<ExecuteParam> params;
};

// `param_count`: from the statement's COM_STMT_PREPARE OK. `previous_types`: the types bound at
// its previous execute (empty before the first). `long_data`: per parameter, whether
// COM_STMT_SEND_LONG_DATA sent its value (empty: none did). nullopt, with `error`, for a payload
// the server would refuse (truncated, types missing on a first execute, an unknown type).
std::optional<StmtExecute> decode_stmt_execute(util::Bytes payload, std::uint16_t param_count,
                                               std::span<const ParamType> previous_types,
                                               const std::vector<bool>& long_data,
                                               std::string& error);

}  // namespace uniqguard::protocol::mysql
