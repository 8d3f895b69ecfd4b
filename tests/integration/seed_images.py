"""Stand-ins for the images of the beginner notes on Docker (see test_seed_journeys.py), built from
busybox with the classic builder since there is no registry here: the notes' command names, paths and
ports, small shell scripts behind them (servers are busybox `nc -ll -e` answering one line per
connection)."""

HELLO_DOCKERFILE = """\
# a comment line
FROM busybox
LABEL maintainer="test" version="1.0"
ENV GREETING=hello APP_HOME=/app
WORKDIR /app
COPY index.html .
RUN echo "built in $(pwd) for $GREETING" > built.txt
EXPOSE 8080
ENTRYPOINT ["echo", "entry:"]
CMD ["default"]
"""


NGINX_DOCKERFILE = """\
FROM busybox
RUN mkdir -p /var/www/html && echo '<h1>Welcome to nginx!</h1>' > /var/www/html/index.html && \\
  printf '#!/bin/sh\\nexec sh "$@"\\n' > /bin/bash && chmod +x /bin/bash
WORKDIR /var/www/html
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/var/www/html"]
"""


REDIS_FILES = {
    "Dockerfile": "FROM busybox\nCOPY redis-server redis-cli redis-session /usr/local/bin/\nRUN mkdir /data\n"
                  "WORKDIR /data\nEXPOSE 6379\nCMD [\"redis-server\"]\n",
    # the server: one command per connection; stops cleanly on SIGTERM like redis does
    "redis-server": "#!/bin/sh\ntrap 'echo \"# Redis is now ready to exit, bye bye...\"; exit 0' TERM\n"
                    "nc -ll -p 6379 -e /usr/local/bin/redis-session &\n"
                    "echo '* Ready to accept connections'\nwait\n",
    "redis-session": "#!/bin/sh\nread -r cmd key val\ncase \"$(echo \"$cmd\" | tr a-z A-Z)\" in\n"
                     "  PING) echo PONG ;;\n  SET) printf %s \"$val\" > \"/data/$key\" && echo OK ;;\n"
                     "  GET) if [ -f \"/data/$key\" ]; then echo \"\\\"$(cat \"/data/$key\")\\\"\"; "
                     "else echo '(nil)'; fi ;;\n"
                     "  *) echo \"(error) ERR unknown command '$cmd'\" ;;\nesac\n",
    # the client: a command from its arguments, else a prompt reading commands from stdin
    "redis-cli": "#!/bin/sh\nif [ $# -gt 0 ]; then echo \"$*\" | nc 127.0.0.1 6379; exit; fi\n"
                 "while printf '127.0.0.1:6379> ' && read -r line; do\n"
                 "  [ \"$line\" = quit ] && exit 0\n  echo \"$line\" | nc 127.0.0.1 6379\ndone\n",
}


MYSQL_BASE = {
    "Dockerfile": "FROM busybox\nCOPY mysqld mysql-session /usr/local/bin/\nVOLUME /var/lib/mysql\n"
                  "EXPOSE 3306\nCMD [\"mysqld\"]\n",
    "mysqld": "#!/bin/sh\nmkdir -p \"/var/lib/mysql/$MYSQL_DATABASE\"\n"
              "trap 'echo \"mysqld: Shutdown complete\"; exit 0' TERM\n"
              "nc -ll -p 3306 -e /usr/local/bin/mysql-session &\n"
              "echo 'mysqld: ready for connections. port: 3306'\nwait\n",
    # "user password database" -> connected, or MySQL's access denied
    "mysql-session": "#!/bin/sh\nread -r user pass db\n"
                     "if [ \"$user\" = root ] && [ \"$pass\" = \"$MYSQL_ROOT_PASSWORD\" ] && "
                     "[ -d \"/var/lib/mysql/$db\" ]; then echo \"connected to $db\"\n"
                     "else echo \"ERROR 1045 (28000): Access denied for user '$user'\"; fi\n",
}


SVN_FILES = {
    "Dockerfile": "FROM busybox\nCOPY init /init\nCOPY svnadmin svn htpasswd svnserve-session /usr/local/bin/\n"
                  "RUN mkdir -p /home/svn /etc/subversion\nEXPOSE 80 3690\nCMD [\"/init\"]\n",
    "init": "#!/bin/sh\nhttpd -p 80 -h /home/svn\ntrap 'exit 0' TERM\n"
            "nc -ll -p 3690 -e /usr/local/bin/svnserve-session &\nwait\n",
    "svnadmin": "#!/bin/sh\n[ \"$1\" = create ] || exit 1\n"
                "mkdir -p \"$2/db\" \"$2/conf\" && echo 5 > \"$2/format\" && echo 0 > \"$2/db/current\"\n",
    "htpasswd": "#!/bin/sh\n[ \"$1\" = -b ] || exit 1\n"
                "echo \"$3:$(httpd -m \"$4\")\" >> \"$2\" && echo \"Adding password for user $3\"\n",
    # `svn info svn://HOST:PORT/REPO`
    "svn": "#!/bin/sh\n[ \"$1\" = info ] || exit 1\nrest=${2#svn://}\nhostport=${rest%%/*}\n"
           "echo \"info ${rest#*/}\" | nc \"${hostport%:*}\" \"${hostport##*:}\"\n",
    "svnserve-session": "#!/bin/sh\nread -r cmd repo\nroot=${SVNROOT:-/home/svn}\n"
                        "if [ -f \"$root/$repo/format\" ]; then\n"
                        "  printf 'Path: %s\\nURL: svn://localhost/%s\\nRevision: %s\\n' \"$repo\" \"$repo\" "
                        "\"$(cat \"$root/$repo/db/current\")\"\n"
                        "else echo \"svn: E170013: Unable to connect to a repository at URL 'svn://localhost/$repo'\"; fi\n",
}


CENTOS_SVN_FILES = {
    "Dockerfile": "FROM busybox\nCOPY bash svnadmin svnserve svnserve-session /usr/local/bin/\n"
                  "RUN mkdir -p /home/svn\nCMD [\"bash\"]\n",
    "bash": "#!/bin/sh\nexec sh \"$@\"\n",
    "svnadmin": SVN_FILES["svnadmin"],
    # `svnserve -d -r ROOT --listen-port PORT`: a daemon, in a session of its own
    "svnserve": "#!/bin/sh\n[ \"$1 $2\" = \"-d -r\" ] && [ \"$4\" = --listen-port ] || exit 1\n"
                "SVNROOT=$3 setsid nc -ll -p \"$5\" -e /usr/local/bin/svnserve-session </dev/null >/dev/null 2>&1 &\n",
    "svnserve-session": SVN_FILES["svnserve-session"],
}


HTTPD_DOCKERFILE = """\
FROM busybox
RUN mkdir -p /usr/local/apache2/htdocs && \\
  echo '<html><body><h1>It works!</h1></body></html>' > /usr/local/apache2/htdocs/index.html
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/usr/local/apache2/htdocs"]
"""
