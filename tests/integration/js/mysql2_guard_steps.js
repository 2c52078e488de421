// Runs a list of steps through mysql2 on one connection and prints, per step, what came back, for
// test_mysql_guard_prepared.py to compare the guarded table through the proxy with its twin.
// Usage: node mysql2_guard_steps.js PORT USER PASSWORD DATABASE TABLE STEPS_JSON
// Steps: ["execute", sql, params] (server-side prepared: COM_STMT_PREPARE once per sql, then
// COM_STMT_EXECUTE), ["query", sql] (COM_QUERY), ["unprepare", sql] (COM_STMT_CLOSE). `{t}` in
// sql is TABLE. Each result: {"ok": affectedRows} or {"err": [errno, sqlState, message]};
// ["execute_full", sql, params] is "execute" answering {"ok": [affectedRows, insertId, info,
// warningStatus]}.
const mysql = require("mysql2/promise");

async function main() {
  const [port, user, password, database, table, stepsJson] = process.argv.slice(2);
  const conn = await mysql.createConnection({
    host: "127.0.0.1", port: Number(port), user, password, database,
  });
  const out = [];
  for (const [kind, text, params] of JSON.parse(stepsJson)) {
    const sql = text.replaceAll("{t}", table);
    try {
      if (kind === "unprepare") {
        await conn.unprepare(sql);
        out.push({ ok: null });
        continue;
      }
      if (kind === "execute_full") {
        const [res] = await conn.execute(sql, params);
        out.push({ ok: [res.affectedRows, res.insertId, res.info, res.warningStatus] });
        continue;
      }
      const [res] = kind === "execute" ? await conn.execute(sql, params) : await conn.query(sql);
      out.push({ ok: Array.isArray(res) ? res.map((r) => Object.values(r).map(String)) : res.affectedRows });
    } catch (e) {
      out.push({ err: [e.errno, e.sqlState, e.sqlMessage] });
    }
  }
  await conn.end();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
