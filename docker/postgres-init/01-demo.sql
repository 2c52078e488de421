-- The demo of the README: a Django-style enrolment table whose legacy rows already repeat the
-- (user_id, course_id) pair, so `CREATE UNIQUE INDEX` on it fails today.
CREATE TABLE courses_enroll (
    id            bigserial PRIMARY KEY,
    user_id       integer NOT NULL,
    course_id     integer NOT NULL,
    enrolled_date date    NOT NULL DEFAULT current_date
);
CREATE INDEX courses_enroll_user_course ON courses_enroll (user_id, course_id);

INSERT INTO courses_enroll (user_id, course_id, enrolled_date) VALUES
    (1, 1, '2024-01-10'),
    (1, 2, '2024-01-11'),
    (2, 1, '2024-02-01'),
    (2, 1, '2024-02-01'),   -- legacy duplicate: a double-clicked form
    (3, 4, '2024-03-05'),
    (3, 4, '2024-03-06'),   -- legacy duplicate
    (3, 4, '2024-03-07'),   -- and another
    (4, 2, '2024-04-20');

-- The proxy's own account: reads the guarded tables and the catalog, nothing more.
GRANT SELECT ON courses_enroll TO uniqguard;
