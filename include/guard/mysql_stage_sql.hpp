// The statements the MySQL/MariaDB guard sends in the client's own session when the rows a
// statement writes are not in its text, or their values are not literals the proxy keys
// (proxy/mysql_guard.hpp; docs/mysql.md "INSERT … SELECT" and "UPDATE of key columns"): the
// rows are staged in a temporary table made LIKE the guarded one (so their values are
// converted, defaulted and refused as the table would), and the stage's keys are read and
// checked against the table's other rows. Pure text, as mysql_check_sql.hpp.
//   INSERT … SELECT: the client's statement runs into the stage; checked; the stage's rows are
//     copied into the table in the client's statement's place.
//   UPDATE setting a key column to an expression: the rows its WHERE matches are copied into
//     the stage and its SET list applied there; checked against the rows it leaves; the
//     client's UPDATE then goes unchanged.
// Tables are named as the client wrote them (`schema` empty: unqualified, the session's current
// database), so that the statements reach the table the client's statement would.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/mysql_check_sql.hpp"

namespace uniqguard::guard {

// The commands that make and fill the stage, to run in order (each answered by OK, or by one
// value), and the check. The check answers one row, one column: per key (guard) in order, joined
// by ';', the answer of mysql_update_check_sql's part of the key: "<n>/<key>,<key>,…", each
// distinct key (no NULL part) of the stage's rows, grouped in the columns' collations, its
// parts' stored values in utf8mb4, hex, joined by ':', ending with '.', preceded by '!' when a
// row of the table the statement does not write holds it, by "!+" when only the stage holds it
// twice (a stage row's spelling). `locking_probe` is the same with the table's rows of the stage's
// keys read by a locking read (LOCK IN SHARE MODE): the latest committed rows, not the
// transaction's snapshot, as InnoDB's own unique check reads them; asked after the statement waited
// for another session's claim, which may have committed since the snapshot.
struct MySqlStageSql {
    std::vector<std::string> stage;
    std::string probe;
    std::string locking_probe;
};

// The stage of the table for one session: a temporary table in the same database (`schema`
// empty: the current one), its name fixed per table.
std::string mysql_stage_name(std::string_view schema, std::string_view table);

// INSERT … SELECT. stage: [0] a query of LAST_INSERT_ID() and the table's columns (below),
// [1] drop and [2] create the stage, [3] the fill: INSERT [IGNORE] INTO <stage> <the client's
// text after its table's name> (`after_table_name`: its column list and SELECT; `ignore`: the
// client's IGNORE, so that its values are converted, and rows repeating the table's other
// unique keys skipped, as INSERT IGNORE does).
MySqlStageSql mysql_staged_insert_sql(std::string_view schema, std::string_view table,
                                      std::string_view after_table_name,
                                      const std::vector<const MySqlKeyColumns*>& keys,
                                      bool ignore = false);
// The answer of stage[0]: "<LAST_INSERT_ID()>/<column>,<column>,…", each column (in the table's
// order) a flag ('a' AUTO_INCREMENT, 'g' generated, 'c' any other) and its name in hex.
struct MySqlTableColumns {
    std::string last_insert_id;
    struct Column {
        std::string name;
        char kind = 'c';
    };
    std::vector<Column> columns;
};
std::optional<MySqlTableColumns> mysql_read_table_columns(std::string_view answer);
// How the stage's rows go into the table: all of them, or (INSERT IGNORE … SELECT, action
// "ignore") without the rows whose key of a guard in `drop` a row of the table has, as a unique
// key on it would skip them (the stage's rows repeat no such key among themselves: the proxy
// refuses the statement otherwise, since which row a unique key keeps depends on what the copy
// skips for other reasons). `ignore`: INSERT IGNORE (the client's own IGNORE, for the table's
// other unique keys).
struct MySqlStageCopy {
    bool ignore = false;
    std::vector<const MySqlKeyColumns*> drop;
};
// INSERT [IGNORE] INTO <table> (<cols>) SELECT <cols> FROM <stage> [AS uniqguard_s WHERE NOT
// EXISTS (SELECT 1 FROM <table> WHERE <key> = uniqguard_s.<key>) AND …]
std::string mysql_stage_copy_sql(std::string_view schema, std::string_view table,
                                 const std::vector<std::string>& columns,
                                 const MySqlStageCopy& how = {});

// UPDATE. `alias`: the UPDATE's alias (empty: none); `where`: its condition's text (nullopt:
// every row); `set_list`: its assignments' text. `order_column`: the table's one-column PRIMARY
// KEY, which the UPDATE leaves alone: the rows are taken to be written in its order, a new key
// colliding with a later matched row's old key as on InnoDB (`UPDATE t SET k = k + 1` over
// consecutive keys fails there); empty: only the table after the UPDATE counts.
// stage: [0] the columns query (as for INSERT … SELECT), [1] drop, [2] create, [3] empty: the
// matched rows copied (mysql_staged_update_fill, from [0]'s answer), [4] the SET list applied.
MySqlStageSql mysql_staged_update_sql(std::string_view schema, std::string_view table,
                                      std::string_view alias, std::optional<std::string_view> where,
                                      std::string_view set_list,
                                      const std::vector<const MySqlKeyColumns*>& keys,
                                      std::string_view order_column = {});

// The copy of the rows an UPDATE matches into its stage: `columns`, the table's columns but the
// generated ones.
std::string mysql_staged_update_fill(std::string_view schema, std::string_view table,
                                     std::string_view alias, std::optional<std::string_view> where,
                                     const std::vector<std::string>& columns);

}  // namespace uniqguard::guard
