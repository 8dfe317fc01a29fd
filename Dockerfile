# The Collab server (backend/) as a container image. Build from the repository root:
#   docker build -t collab-server .
# Run one node:  docker run -p 3000:3000 -e JWT_SECRET=... -e DATABASE_URL=... collab-server
# Several nodes: see docker-compose.yml and docs/deploy.md.
#
# Only the server's workspaces are installed and built (protocol, client, backend); the extension
# is not part of the image.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
# --ignore-scripts: no dependency of the server needs an install script.
RUN npm ci --workspace=backend --include-workspace-root --ignore-scripts --no-audit --no-fund \
 && npx tsc -b backend

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
# The same tree the build stage ran (node_modules with workspace links, and each dist/).
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/protocol/package.json ./protocol/package.json
COPY --from=build /app/protocol/dist ./protocol/dist
COPY --from=build /app/client/package.json ./client/package.json
COPY --from=build /app/client/dist ./client/dist
COPY --from=build /app/backend/package.json ./backend/package.json
COPY --from=build /app/backend/dist ./backend/dist
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# /readyz answers 200 only while the database answers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM (docker stop) finishes in-flight commits before exiting; give it the default 10 s.
CMD ["node", "backend/dist/main.js"]
