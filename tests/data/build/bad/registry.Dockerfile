FROM alpine:3.20
COPY present.txt /p
