#include "proxy/mysql_savepoint_command.hpp"

#include <cctype>

#include "sql/mysql_leading_words.hpp"
#include "util/ascii_search.hpp"

namespace uniqguard::proxy {

namespace {

// A name the statement's own keywords could be mistaken for: not read (the server's grammar
// decides what such a text means).
bool plain_name(std::string_view word) {
    return !word.empty() && word != "savepoint" && word != "work" && word != "to";
}

}  // namespace

std::optional<TransactionCommand> read_mysql_savepoint_command(std::string_view text) {
    using K = TransactionCommand::Kind;
    // Every COM_QUERY of a guarded session comes here: most leave at the first character.
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos ||
        std::string_view("sSrR/#-").find(text[first]) == std::string_view::npos)
        return std::nullopt;
    // Every SELECT starts with S: the first word's letters are compared in place before any
    // word is read (a comment first goes the whole way).
    if (std::isalpha(static_cast<unsigned char>(text[first])) != 0) {
        // Four letters against four: the same word.
        const auto head = text.substr(first, 4);
        if (!util::contains_ignoring_case(head, "save") &&
            !util::contains_ignoring_case(head, "roll") &&
            !util::contains_ignoring_case(head, "rele"))
            return std::nullopt;
    }
    const auto read = sql::mysql_leading_words(text, 6);
    const auto& w = read.words;
    // Five words at most: a sixth means more text than the command.
    if (!read.rest_is_blank || w.empty() || w.size() > 5) return std::nullopt;
    if (w[0] == "savepoint") {
        if (w.size() != 2 || !plain_name(w[1])) return std::nullopt;
        return TransactionCommand{K::savepoint, w[1]};
    }
    if (w[0] == "release") {
        if (w.size() != 3 || w[1] != "savepoint" || !plain_name(w[2])) return std::nullopt;
        return TransactionCommand{K::release, w[2]};
    }
    if (w[0] != "rollback") return std::nullopt;
    std::size_t i = 1;
    if (i < w.size() && w[i] == "work") ++i;
    if (i >= w.size() || w[i] != "to") return std::nullopt;
    ++i;
    if (i + 2 == w.size() && w[i] == "savepoint") ++i;
    if (i + 1 != w.size() || !plain_name(w[i])) return std::nullopt;
    return TransactionCommand{K::rollback_to, w[i]};
}

}  // namespace uniqguard::proxy
