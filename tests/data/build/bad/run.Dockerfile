FROM scratch
COPY present.txt /p
RUN echo hi
