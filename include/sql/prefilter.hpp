// A cheap test, run before any parse, of whether a statement's text can refer to a guarded
// table. It never parses: it looks for each guarded table's bare name anywhere in the text,
// ignoring ASCII case. It may say yes for nothing (the name inside a string or a longer name);
// it never says no to a statement that names a guarded table:
//   - case is ignored, so "Courses_Enroll" (quoted, a different table to the server) counts too;
//   - a schema-qualified or quoted reference contains the bare name;
//   - U&"..." identifiers can spell a name with escapes, and EXECUTE runs a statement prepared
//     earlier whose text is not here: any text containing `U&"` or the word EXECUTE counts.
// Statements that change how later statements are read (SET, transaction control, DISCARD) are
// the session's business whatever this filter says.
//
// The text is taken to be in the server's encoding (UTF-8), as libpg_query reads it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uniqguard::sql {

class TableMentionFilter {
  public:
    // Unqualified table names; they are folded to lower case (ASCII) here.
    explicit TableMentionFilter(const std::vector<std::string>& table_names);

    bool may_mention(std::string_view sql) const;
    // No guarded table: every statement can be forwarded without a look.
    bool empty() const { return tables_ == 0; }

  private:
    std::vector<std::string> patterns_;  // the table names, then the conservative extras
    // For each byte value, the patterns starting with that byte (either case).
    std::array<std::vector<std::uint16_t>, 256> by_first_byte_;
    std::size_t min_length_ = 0;
    std::size_t tables_ = 0;
};

}  // namespace uniqguard::sql
