# pbm with Terminus, for the Kubernetes recipe (deploy/kubernetes). Build from the repository root after
# `npm pack`, which writes pantheon-backup-mirror-<version>.tgz (with its npm-shrinkwrap.json) here:
#   npm pack && docker build -t registry.example.com/pbm:0.1.0 .
# Credentials are never baked in: the machine token and AWS keys come at run time.
#
# Base: Node 24 (the active LTS) on Debian 12, pinned by the digest of the image index (the multi-platform
# manifest list: one digest for every architecture). This digest is the one that public pins of
# node:24-bookworm-slim carried with Node 24.18.0; it was not pulled here (only the npm registry is
# reachable from where this was written). Refresh it, and check it before relying on it, with:
#   docker buildx imagetools inspect node:24-bookworm-slim --format '{{json .Manifest}}' | jq -r .digest
# (or read the top `Digest:` line of `docker buildx imagetools inspect node:24-bookworm-slim`).
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# Terminus 3.5+ (older ones hide failed workflows), by version and by the sha256 of its terminus.phar
# release asset as Pantheon's Homebrew formula (pantheon-systems/homebrew-external) publishes it; the
# build fails if the download differs. Move both together.
ARG TERMINUS_VERSION=3.6.1
ARG TERMINUS_SHA256=9cefcb8d5f0953334173d837cef943a8b88afec17fae4327c15271bfc9c3dc50

# Terminus is a PHP archive: PHP's CLI with the extensions it uses, and git/ssh for its git-based commands.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl git openssh-client \
     php-cli php-curl php-mbstring php-xml php-zip \
  && rm -rf /var/lib/apt/lists/*

RUN curl -fsSL -o /tmp/terminus.phar \
     "https://github.com/pantheon-systems/terminus/releases/download/${TERMINUS_VERSION}/terminus.phar" \
  && echo "${TERMINUS_SHA256}  /tmp/terminus.phar" | sha256sum --check --strict \
  && install -m 0755 /tmp/terminus.phar /usr/local/bin/terminus \
  && rm /tmp/terminus.phar \
  && terminus --version

# pbm from the release tarball with the dependency tree of its npm-shrinkwrap.json: unpacked and installed
# with `npm ci --omit=dev` (`npm install -g TARBALL` would ignore a local tarball's shrinkwrap,
# npm/cli#5325), then linked into /usr/local/bin as pbm and pantheon-backup-mirror.
COPY pantheon-backup-mirror-*.tgz /tmp/
RUN mkdir -p /opt/pantheon-backup-mirror \
  && tar -xzf /tmp/pantheon-backup-mirror-*.tgz -C /opt/pantheon-backup-mirror --strip-components=1 \
  && cd /opt/pantheon-backup-mirror \
  && npm ci --omit=dev --no-audit --no-fund \
  && npm install -g --no-audit --no-fund /opt/pantheon-backup-mirror \
  && rm /tmp/pantheon-backup-mirror-*.tgz \
  && npm cache clean --force \
  && pbm --version && pantheon-backup-mirror --version

ENV TERMINUS_HIDE_UPDATE_MESSAGE=1
# The image's unprivileged user (uid 1000), as the Kubernetes recipe's securityContext expects.
USER node
WORKDIR /home/node
ENTRYPOINT ["pbm"]
