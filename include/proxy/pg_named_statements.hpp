// The text of the named prepared statements a session's guard does not keep, because they named
// no guarded table when they were parsed. A reload may start guarding their table while the
// session (a pooled connection that prepared them hours ago) goes on executing them: the guard
// then analyses them from this text (PgGuard::adopt), as if they were parsed again.
//
// Only named statements: the unnamed one is replaced by the client's next Parse anyway. Bounded:
// past max_bytes of text no more are kept, and the guard says so when it adopts new guards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/bytes.hpp"

namespace uniqguard::proxy {

// A simple query that may drop prepared statements (DEALLOCATE, DISCARD): a cheap test.
bool mentions_deallocation(std::string_view sql);

class NamedStatementTexts {
  public:
    static constexpr std::size_t max_bytes = 256 * 1024;  // names and texts

    struct Text {
        std::string sql;
        std::vector<std::uint32_t> parameter_types;
        bool maybe_gone = false;  // a DEALLOCATE or DISCARD was seen since
    };

    // A Parse of a named statement. A name still in use makes the server refuse the Parse
    // (42P05) and keep the old statement, so only a name perhaps deallocated is replaced.
    void on_parse(std::string_view name, std::string_view sql,
                  std::vector<std::uint32_t> parameter_types);
    void on_close_statement(std::string_view name) { erase(std::string(name)); }
    void on_deallocation_seen() {
        for (auto& [name, text] : texts_) text.maybe_gone = true;
    }
    // For a session without a guard: Parse, Close and simple queries, from the client pump.
    void on_client_message(char type, util::Bytes body);

    // Removes and returns the statements whose text `wanted` selects.
    template <class Wanted>
    std::vector<std::pair<std::string, Text>> take_if(Wanted wanted) {
        std::vector<std::pair<std::string, Text>> out;
        for (auto it = texts_.begin(); it != texts_.end();) {
            if (!wanted(it->second.sql)) {
                ++it;
                continue;
            }
            bytes_ -= it->first.size() + it->second.sql.size();
            out.emplace_back(it->first, std::move(it->second));
            it = texts_.erase(it);
        }
        return out;
    }

    bool empty() const { return texts_.empty(); }
    // Whether `name` is held and not perhaps deallocated: a Parse of it fails on the server.
    bool holds_live(const std::string& name) const {
        auto it = texts_.find(name);
        return it != texts_.end() && !it->second.maybe_gone;
    }
    // A statement taken out by take_if and not kept elsewhere after all.
    void put_back(const std::string& name, Text text);
    // Some statement was not kept for lack of room since the last call.
    bool take_overflow() { return std::exchange(overflowed_, false); }
    bool overflowed() const { return overflowed_; }

  private:
    void erase(const std::string& name);

    std::unordered_map<std::string, Text> texts_;
    std::size_t bytes_ = 0;
    bool overflowed_ = false;
};

}  // namespace uniqguard::proxy
