# Build the portal as a static binary, then ship it alone on a distroless,
# non-root base. In a container, set DATABASE_URL: there is no local
# PostgreSQL to fall back to.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/web ./cmd/web

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/web /web
USER nonroot:nonroot
ENV HTTP_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/web"]
CMD ["serve"]
