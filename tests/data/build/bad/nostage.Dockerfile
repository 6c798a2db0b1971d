FROM scratch
COPY present.txt /p
COPY --from=nosuch /a /b
