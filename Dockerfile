# cellbench on Debian bookworm: the simulator (sim7600), the firmware host
# build (fwcore), the broker and harness (cellbench) built with make, and a
# test PKI in certs/out. docker-compose.yml runs the bench from this image.
FROM debian:bookworm

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends make ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /cellbench
COPY . .

# make deps installs the Debian packages listed in the top Makefile.
RUN make deps \
 && rm -rf /var/lib/apt/lists/* \
 && make -j2 \
 && bash certs/gen.sh

# The broker's device listener (TLS; mutual TLS with the aws profile).
EXPOSE 8883
CMD ["/cellbench/build/bin/cellbench", "run", "--verbose", "scenarios/demo-trip.json"]
