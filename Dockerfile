# Custos in a container: built and run on Debian 12, as the project is everywhere else.
# (It cannot be built on the development machine, which has no container runtime; the steps
# are ./ops/test's and ./ops/run's.)
#   docker build -t custos .
#   docker run -p 8443:8443 -v custos-data:/var/lib/custos -v /etc/custos:/etc/custos:ro custos
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config ca-certificates \
      libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev \
      libboost-program-options1.81-dev librocksdb-dev libjemalloc-dev librdkafka-dev \
      libsimdjson-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev \
      libssl-dev libsodium-dev libutf8proc-dev libcurl4-openssl-dev nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release -DCUSTOS_BUILD_TESTS=OFF && cmake --build build --target custos console

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates librocksdb7.8 libjemalloc2 librdkafka1 libspdlog1.10 \
      libfmt9 libssl3 libsodium23 libutf8proc2 libcurl4 libboost-program-options1.81.0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/custos --shell /usr/sbin/nologin custos \
    && install -d -o custos -g custos -m 0700 /var/lib/custos /var/lib/custos/data
COPY --from=build /src/build/custos /usr/local/bin/custos
# The console, found at ../share/custos/console beside the executable.
COPY --from=build /src/build/console /usr/local/share/custos/console
USER custos
EXPOSE 8443
VOLUME ["/var/lib/custos"]
# Configuration from /etc/custos/custos.conf (ops/custos.conf.example, data-dir under
# /var/lib/custos) or CUSTOS_* variables, which win over the file.
ENTRYPOINT ["/usr/local/bin/custos"]
CMD ["serve", "--config", "/etc/custos/custos.conf"]
