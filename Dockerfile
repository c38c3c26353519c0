# Builds the jobhealth operator image. The binary links glibc dynamically and needs CA
# certificates, which the distroless cc base image provides.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin jobhealth

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/jobhealth /usr/local/bin/jobhealth
USER nonroot
ENTRYPOINT ["/usr/local/bin/jobhealth"]
CMD ["run"]
