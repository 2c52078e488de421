#include "proxy/pg_insert_shape.hpp"

namespace uniqguard::proxy {

std::optional<InsertShapePlan> make_insert_shape_plan(const WritePlan& plan,
                                                      const sql::LiteralShape& shape) {
    if (plan.kind != WritePlan::Kind::insert || plan.must_rewrite || plan.forward_untouched ||
        !plan.guard || plan.guard->state() != guard::GuardLoadState::ready || !shape.ok ||
        !shape.options.standard_conforming_strings)
        return std::nullopt;
    InsertShapePlan out;
    out.guard = plan.guard;
    out.writes_every_row = plan.writes_every_row;
    out.key_width = plan.guard->table().key_columns.size();
    for (const auto& row : plan.rows) {
        if (row.size() != out.key_width) return std::nullopt;
        for (const auto& source : row) {
            // A cast changes how the value reads, and the full path checks its assignment first.
            if (source.cast || source.opaque_cast) return std::nullopt;
            ShapeKeyPart part;
            switch (source.kind) {
                case ValueSource::Kind::null:
                    part.kind = ShapeKeyPart::Kind::null;
                    break;
                case ValueSource::Kind::boolean:
                    part.kind = ShapeKeyPart::Kind::boolean;
                    part.boolean = source.text == "true";
                    break;
                case ValueSource::Kind::string:
                case ValueSource::Kind::number: {
                    auto tokens = sql::literal_tokens(shape, source.literal);
                    if (!tokens) return std::nullopt;
                    // Only string and number tokens: a word read as a string is part of the shape.
                    const auto kind = shape.tokens[tokens->last].kind;
                    if (!sql::is_literal_kind(kind) || kind == sql::TokenKind::bit_string ||
                        kind == sql::TokenKind::hex_string)
                        return std::nullopt;
                    part.kind = source.kind == ValueSource::Kind::string
                                    ? ShapeKeyPart::Kind::string
                                    : ShapeKeyPart::Kind::number;
                    part.tokens = *tokens;
                    break;
                }
                case ValueSource::Kind::parameter:
                    return std::nullopt;  // the server refuses $n in a simple query
                case ValueSource::Kind::expression:
                    return std::nullopt;  // (an UPDATE's only)
            }
            out.parts.push_back(part);
        }
    }
    return out;
}

}  // namespace uniqguard::proxy
