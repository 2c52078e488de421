#include "protocol/mysql/stmt_execute.hpp"

#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

namespace {

// The size of a value of `type` in the binary protocol: a fixed width, or -1 for a
// length-encoded string, -2 for a length-prefixed temporal value (1 byte of length), -3 for an
// unknown type.
int value_width(std::uint8_t type) {
    namespace t = field_type;
    switch (type) {
        case t::tiny:
            return 1;
        case t::short_:
            return 2;
        case t::long_:
        case t::float_:
            return 4;
        // YEAR and INT24 are not read: MariaDB 10.11 takes a parameter bound with either as
        // NULL and reads none of its bytes, so the next parameter's bytes would be another's
        // for the proxy and the server (found by a review; clients bind SHORT / LONG).
        case t::longlong:
        case t::double_:
            return 8;
        case t::null:
            return 0;
        case t::date:
        case t::datetime:
        case t::timestamp:
        case t::time:
            return -2;
        case t::decimal:
        case t::newdecimal:
        case t::varchar:
        case t::bit:
        case t::json:
        case t::enum_:
        case t::set:
        case t::tiny_blob:
        case t::medium_blob:
        case t::long_blob:
        case t::blob:
        case t::var_string:
        case t::string:
        case t::geometry:
            return -1;
        default:
            return -3;
    }
}

}  // namespace

std::optional<StmtExecute> decode_stmt_execute(util::Bytes payload, std::uint16_t param_count,
                                               std::span<const ParamType> previous_types,
                                               const std::vector<bool>& long_data,
                                               std::string& error) {
    PayloadCursor c(payload);
    StmtExecute out;
    if (c.u8() != 0x17) {
        error = "not a COM_STMT_EXECUTE";
        return std::nullopt;
    }
    out.statement_id = c.u32();
    out.flags = c.u8();
    c.u32();  // iteration count
    if (!c.ok()) {
        error = "COM_STMT_EXECUTE is truncated";
        return std::nullopt;
    }
    if (param_count == 0) return out;

    const auto bitmap = c.bytes((param_count + 7u) / 8u);
    out.new_params_bound = c.u8() == 1;
    if (!c.ok()) {
        error = "COM_STMT_EXECUTE is truncated before its parameters";
        return std::nullopt;
    }
    out.params.resize(param_count);
    for (std::uint16_t i = 0; i < param_count; ++i) {
        auto& p = out.params[i];
        p.is_null = (bitmap[i / 8u] >> (i % 8u)) & 1u;
        p.long_data = i < long_data.size() && long_data[i];
    }
    if (out.new_params_bound) {
        for (auto& p : out.params) {
            p.type.type = c.u8();
            p.type.is_unsigned = (c.u8() & 0x80) != 0;
        }
    } else if (previous_types.size() == param_count) {
        for (std::uint16_t i = 0; i < param_count; ++i) out.params[i].type = previous_types[i];
    } else {
        error = "COM_STMT_EXECUTE binds no parameter types and none were bound before";
        return std::nullopt;
    }
    for (auto& p : out.params) {
        if (p.is_null || p.long_data) continue;
        const int width = value_width(p.type.type);
        if (width >= 0) {
            p.value = c.bytes(static_cast<std::size_t>(width));
        } else if (width == -1) {
            p.value = c.bytes(c.lenenc_int());
        } else if (width == -2) {
            p.value = c.bytes(c.u8());
        } else {
            error =
                "COM_STMT_EXECUTE has a parameter of unknown type " + std::to_string(p.type.type);
            return std::nullopt;
        }
    }
    if (!c.ok()) {
        error = "COM_STMT_EXECUTE is truncated in its parameter values";
        return std::nullopt;
    }
    return out;
}

}  // namespace uniqguard::protocol::mysql
