// Binary prepared statements through mysql2 (COM_STMT_PREPARE / EXECUTE / CLOSE): prints one
// JSON object with what came back, for test_mysql_node.py to compare exactly.
// Usage: node mysql2_prepared.js PORT USER PASSWORD DATABASE
const mysql = require("mysql2/promise");

async function main() {
  const [port, user, password, database] = process.argv.slice(2);
  const conn = await mysql.createConnection({
    host: "127.0.0.1", port: Number(port), user, password, database,
    supportBigNumbers: true, bigNumberStrings: true,
  });
  const out = {};
  await conn.query("DROP TABLE IF EXISTS node_ps");
  await conn.query("CREATE TABLE node_ps (id INT PRIMARY KEY, name VARCHAR(50), amount DECIMAL(10,2), data BLOB)");
  let inserted = 0;
  for (let i = 1; i <= 50; i++) {
    const [res] = await conn.execute("INSERT INTO node_ps VALUES (?, ?, ?, ?)",
                                     [i, `name ${i}`, (i * 1.5).toFixed(2), Buffer.alloc(i, i)]);
    inserted += res.affectedRows;
  }
  out.inserted = inserted;
  const [rows] = await conn.execute(
      "SELECT id, name, amount, LENGTH(data) AS len FROM node_ps WHERE id BETWEEN ? AND ? ORDER BY id",
      [10, 12]);
  out.rows = rows.map((r) => [r.id, r.name, r.amount, Number(r.len)]);
  const [[sum]] = await conn.execute("SELECT SUM(id) AS s, COUNT(*) AS c FROM node_ps WHERE name LIKE ?",
                                     ["name %"]);
  out.sum = [String(sum.s), Number(sum.c)];
  const [[big]] = await conn.execute("SELECT ? AS v", [Buffer.alloc(300000, 7)]);
  out.big = big.v.length;
  await conn.unprepare("SELECT ? AS v");  // COM_STMT_CLOSE
  const [[after]] = await conn.execute("SELECT ? + 1 AS v", [41]);
  out.after = Number(after.v);
  try {
    await conn.execute("SELECT * FROM no_such_table WHERE id = ?", [1]);
  } catch (e) {
    out.error = [e.errno, e.sqlState];
  }
  await conn.end();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
