FROM scratch
COPY present.txt /p
ADD broken.tar.gz /x/
