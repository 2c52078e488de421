"""A minimal MySQL protocol 10 client for tests that need exact bytes: packets are built and
read by hand (no client library in between), so a test can send what a library never would
(binary prepared statements, COM_CHANGE_USER, garbage, oversized headers) and check every byte
of the reply."""
import hashlib
import socket
import struct

CLIENT_LONG_PASSWORD = 1
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_LOCAL_FILES = 1 << 7
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PS_MULTI_RESULTS = 1 << 18
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_DEPRECATE_EOF = 1 << 24

COM_QUIT, COM_INIT_DB, COM_QUERY, COM_PING = 0x01, 0x02, 0x03, 0x0E
COM_CHANGE_USER = 0x11
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA = 0x16, 0x17, 0x18
COM_STMT_CLOSE, COM_STMT_RESET, COM_RESET_CONNECTION = 0x19, 0x1A, 0x1F


def native_password(password: str, scramble: bytes) -> bytes:
    if not password:
        return b""
    stage1 = hashlib.sha1(password.encode()).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mix = hashlib.sha1(scramble[:20] + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mix))


def lenenc_int(data: bytes, pos: int):
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
    return int.from_bytes(data[pos + 1:pos + 1 + width], "little"), pos + 1 + width


def lenenc_str(data: bytes, pos: int):
    n, pos = lenenc_int(data, pos)
    return data[pos:pos + n], pos + n


class WireClient:
    def __init__(self, port, user, password, database="app", deprecate_eof=True,
                 multi_statements=False, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.capabilities = (CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS |
                             CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS |
                             CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |
                             CLIENT_CONNECT_WITH_DB | CLIENT_LOCAL_FILES)
        if deprecate_eof:
            self.capabilities |= CLIENT_DEPRECATE_EOF
        if multi_statements:
            self.capabilities |= CLIENT_MULTI_STATEMENTS
        seq, greeting = self.read_packet()
        assert seq == 0 and greeting[0] == 10, greeting
        self.greeting = greeting
        self.server_version = greeting[1:greeting.index(b"\0", 1)].decode()
        pos = greeting.index(b"\0", 1) + 1
        self.connection_id = struct.unpack_from("<I", greeting, pos)[0]
        self.scramble = greeting[pos + 4:pos + 12]
        pos += 13
        self.server_capabilities = struct.unpack_from("<H", greeting, pos)[0]
        self.server_capabilities |= struct.unpack_from("<H", greeting, pos + 5)[0] << 16
        pos += 18
        self.scramble += greeting[pos:pos + 12]
        self.capabilities &= self.server_capabilities | CLIENT_LONG_PASSWORD
        response = struct.pack("<IIB", self.capabilities, 1 << 24, 45) + b"\0" * 23
        response += user.encode() + b"\0"
        auth = native_password(password, self.scramble)
        response += bytes([len(auth)]) + auth + database.encode() + b"\0"
        response += b"mysql_native_password\0"
        self.send_packet(1, response)
        seq, reply = self.read_packet()
        if reply[0] == 0xFE:  # AuthSwitchRequest to mysql_native_password with a new scramble
            name_end = reply.index(b"\0", 1)
            assert reply[1:name_end] == b"mysql_native_password", reply
            self.send_packet(seq + 1, native_password(password, reply[name_end + 1:]))
            seq, reply = self.read_packet()
        self.login_reply = reply

    # -- frames -------------------------------------------------------------------------
    def _read_exact(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("closed by peer")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read_packet(self):
        """(first sequence id, payload), frames joined."""
        payload = b""
        first = None
        while True:
            header = self._read_exact(4)
            length = int.from_bytes(header[:3], "little")
            if first is None:
                first = header[3]
            payload += self._read_exact(length)
            if length < 0xFFFFFF:
                return first, payload

    def send_packet(self, seq, payload):
        out = b""
        while True:
            chunk, payload = payload[:0xFFFFFF], payload[0xFFFFFF:]
            out += len(chunk).to_bytes(3, "little") + bytes([seq & 0xFF]) + chunk
            seq += 1
            if len(chunk) < 0xFFFFFF:
                break
        self.sock.sendall(out)

    def command(self, payload):
        self.send_packet(0, payload)

    # -- replies ------------------------------------------------------------------------
    def read_result(self):
        """Reads one result: ('ok', status, affected) / ('err', code, sqlstate, message) /
        ('rows', [raw row payloads], status)."""
        _, p = self.read_packet()
        if p[0] == 0x00:
            affected, pos = lenenc_int(p, 1)
            _, pos = lenenc_int(p, pos)
            return ("ok", struct.unpack_from("<H", p, pos)[0], affected)
        if p[0] == 0xFF:
            return ("err", struct.unpack_from("<H", p, 1)[0], p[4:9].decode(), p[9:].decode())
        columns, _ = lenenc_int(p, 0)
        for _ in range(columns):
            self.read_packet()
        if not self.capabilities & CLIENT_DEPRECATE_EOF:
            self.read_packet()
        rows = []
        while True:
            _, p = self.read_packet()
            if p[0] == 0xFE and len(p) < 0xFFFFFF and (self.capabilities & CLIENT_DEPRECATE_EOF
                                                       or len(p) < 9):
                if self.capabilities & CLIENT_DEPRECATE_EOF:
                    _, pos = lenenc_int(p, 1)
                    _, pos = lenenc_int(p, pos)
                    status = struct.unpack_from("<H", p, pos)[0]
                else:
                    status = struct.unpack_from("<H", p, 3)[0]
                return ("rows", rows, status)
            if p[0] == 0xFF:
                return ("err", struct.unpack_from("<H", p, 1)[0], p[4:9].decode(), p[9:].decode())
            rows.append(p)

    def read_rows(self):
        """Rows until the result set's end (after the definitions, or for COM_STMT_FETCH):
        (raw row payloads, status flags)."""
        rows = []
        deprecate_eof = self.capabilities & CLIENT_DEPRECATE_EOF
        while True:
            _, p = self.read_packet()
            if p[0] == 0xFE and (len(p) < 9 or (deprecate_eof and len(p) < 0xFFFFFF)):
                if deprecate_eof:
                    _, pos = lenenc_int(p, 1)
                    _, pos = lenenc_int(p, pos)
                    return rows, struct.unpack_from("<H", p, pos)[0]
                return rows, struct.unpack_from("<H", p, 3)[0]
            assert p[0] != 0xFF, p
            rows.append(p)

    def query_text_rows(self, sql):
        """Rows of a text result set as lists of str (None for NULL)."""
        self.command(bytes([COM_QUERY]) + sql.encode())
        result = self.read_result()
        assert result[0] == "rows", result
        out = []
        for raw in result[1]:
            pos, row = 0, []
            while pos < len(raw):
                if raw[pos] == 0xFB:
                    row.append(None)
                    pos += 1
                else:
                    value, pos = lenenc_str(raw, pos)
                    row.append(value.decode())
            out.append(row)
        return out

    def close(self):
        try:
            self.command(bytes([COM_QUIT]))
        except OSError:
            pass
        self.sock.close()
