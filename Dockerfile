# Production image: build with the dev dependencies, run with the runtime ones only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# SIP (UDP/TCP 5060, TLS 5061), API 8000; RTP uses RTP_PORT_MIN..RTP_PORT_MAX (hostNetwork or a NodePort range in k8s).
EXPOSE 5060/udp 5060/tcp 5061/tcp 8000/tcp
USER node
CMD ["node", "--enable-source-maps", "dist/main.js"]
