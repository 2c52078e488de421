// The first words of a MySQL statement, read without a parse, for the few commands the proxy
// acts on by their opening words alone (`KILL QUERY <id>`, `XA PREPARE`): blanks and plain
// comments skipped; an executable comment (`/*! … */`) stops the reading, since the server runs
// what it holds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace uniqguard::sql {

// Up to `count` words (letters, digits, '_'), lower-cased, then "" for whatever follows that is
// not a word (a quote, a comma, an executable comment); `rest_is_blank` says whether only
// blanks, comments and one `;` follow the last word read.
struct LeadingWords {
    std::vector<std::string> words;
    bool rest_is_blank = false;
};
LeadingWords mysql_leading_words(std::string_view sql, std::size_t count);

}  // namespace uniqguard::sql
