FROM scratch
COPY present.txt /p
COPY missing.txt /m
