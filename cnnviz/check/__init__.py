"""`cnnviz check`: grade a student's course solution against cnnviz.ops and say what is wrong.

Rooms: `cases` (the course's and random cases, with the expected outputs), `runner` (the
student's file in its own limited process, `child.py` being that process), `grade` (values
compared case by case), `diagnose` (known mistakes replayed against the student's output),
`report` (the HTML page), `sandbox` (bubblewrap around that process, for files graded on a
server: `cnnviz check --sandbox`), `solution` (a file read, its tasks found and checked into
TaskReports, without printing), `queue` (the server's grading slots and waiting list, always in
the sandbox: the Check page's) and `cli` (the command).
"""
