FROM scratch
COPY ../x /x
