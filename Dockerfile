# pbm with Terminus, for the Kubernetes recipe (deploy/kubernetes). Build from the repository root after
# `npm pack`, which writes pantheon-backup-mirror-<version>.tgz here:
#   npm pack && docker build -t registry.example.com/pbm:0.1.0 .
# Credentials are never baked in: the machine token and AWS keys come from the environment at run time.
FROM node:20-bookworm-slim

ARG TERMINUS_VERSION=3.6.1

# Terminus is a PHP archive: PHP's CLI with the extensions it uses, and git/ssh for its git-based commands.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl git openssh-client \
     php-cli php-curl php-mbstring php-xml php-zip \
  && rm -rf /var/lib/apt/lists/*

RUN curl -fsSL -o /usr/local/bin/terminus \
     "https://github.com/pantheon-systems/terminus/releases/download/${TERMINUS_VERSION}/terminus.phar" \
  && chmod 0755 /usr/local/bin/terminus \
  && terminus --version

COPY pantheon-backup-mirror-*.tgz /tmp/
RUN npm install -g /tmp/pantheon-backup-mirror-*.tgz && rm /tmp/pantheon-backup-mirror-*.tgz && pbm --version

ENV TERMINUS_HIDE_UPDATE_MESSAGE=1
# The image's unprivileged user (uid 1000), as the Kubernetes recipe's securityContext expects.
USER node
WORKDIR /home/node
ENTRYPOINT ["pbm"]
