-- The README's demo on MariaDB: the same enrolment table, the same legacy duplicates, so
-- `CREATE UNIQUE INDEX` on (user_id, course_id) fails with ERROR 1062 today.
CREATE TABLE courses_enroll (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    user_id       INT  NOT NULL,
    course_id     INT  NOT NULL,
    enrolled_date DATE NOT NULL DEFAULT (CURRENT_DATE),
    KEY courses_enroll_user_course (user_id, course_id)
) ENGINE = InnoDB;

INSERT INTO courses_enroll (user_id, course_id, enrolled_date) VALUES
    (1, 1, '2024-01-10'),
    (1, 2, '2024-01-11'),
    (2, 1, '2024-02-01'),
    (2, 1, '2024-02-01'),   -- legacy duplicate: a double-clicked form
    (3, 4, '2024-03-05'),
    (3, 4, '2024-03-06'),   -- legacy duplicate
    (3, 4, '2024-03-07'),   -- and another
    (4, 2, '2024-04-20');
