// The benchmark's Node.js peer (issue 30): `channel(id)` and `channels(first)` with stats and hosts, over
// the service's table, written as the seed's Node team would write it: GraphQL Yoga 5, AWS SDK v3 with
// lib-dynamodb, one DataLoader per record kind per request, jose verifying every token against a JWKS
// URL, one process. It reads the same records with the same DynamoDB requests as the Python service
// (tests/test_bench_peer.py holds both to that) and answers the same JSON.
//
// Configured by the environment (bench/processes.py node_peer sets it); prints one JSON line, {"port": N},
// once it listens, and exits on SIGTERM (so that `node --cpu-prof` writes its profile).
import { createDecipheriv } from "node:crypto";
import { createServer } from "node:http";

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DecryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import DataLoader from "dataloader";
import { GraphQLError } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";
import { createRemoteJWKSet, jwtVerify } from "jose";

const env = process.env;
const TABLE = env.PEER_TABLE;
const ISSUER = env.PEER_ISSUER;
const AUDIENCES = env.PEER_AUDIENCES.split(",");
const ADMIN_GROUP = env.PEER_ADMIN_GROUP;
const CHANNELS_BY_CREATED_INDEX = "channels-by-created-index";
const KEYRING_PK = "keyring#streamKeys";
const DATA_KEY_CACHE_MS = 300_000;
const BATCH_GET_MAX_KEYS = 100;

const aws = {
  region: env.AWS_REGION,
  endpoint: env.PEER_AWS_ENDPOINT,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
};
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(aws));
const kms = new KMSClient(aws);
const jwks = createRemoteJWKSet(new URL(env.PEER_JWKS_URL));

const channelKey = (id) => ({ pk: `channel#${id}`, sk: "info" });
const assignmentKey = (host) => ({ pk: `host#${host}`, sk: "channel#assignment" });

// BatchGetItem of up to 100 keys; unprocessed keys are asked again. Keys are deduplicated and sorted, so
// that one set of keys is always the same request, the one the service sends for the page's hosts
// (DynamoDB answers in no particular order anyway).
async function batchGet(keys) {
  const byKey = new Map(keys.map((key) => [`${key.pk}\n${key.sk}`, key]));
  const unique = [...byKey.values()].sort((a, b) => (a.pk < b.pk ? -1 : a.pk > b.pk ? 1 : 0));
  const items = [];
  for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
    let request = { [TABLE]: { Keys: unique.slice(start, start + BATCH_GET_MAX_KEYS) } };
    while (request && Object.keys(request).length > 0) {
      const response = await documents.send(new BatchGetCommand({ RequestItems: request }));
      items.push(...(response.Responses?.[TABLE] ?? []));
      request = response.UnprocessedKeys;
    }
  }
  return items;
}

function createLoaders() {
  return {
    channelById: new DataLoader(async (ids) => {
      const found = new Map((await batchGet(ids.map(channelKey))).map((item) => [item.channelId, item]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    assignmentByHost: new DataLoader(async (hosts) => {
      const found = new Map((await batchGet(hosts.map(assignmentKey))).map((item) => [item.hostUserId, item]));
      return hosts.map((host) => found.get(host) ?? null);
    }),
  };
}

// Stream keys sealed at rest (data/stream_keys.py): AES-256-GCM under a data key that KMS decrypts once
// and the process keeps for five minutes. Sealed form: kms1:{data key id}:{base64url(nonce|ciphertext|tag)}.
const dataKeys = new Map();

async function dataKey(id) {
  const cached = dataKeys.get(id);
  if (cached && Date.now() - cached.loadedAt < DATA_KEY_CACHE_MS) return cached.key;
  const loading = (async () => {
    const { Item } = await documents.send(
      new GetCommand({ TableName: TABLE, Key: { pk: KEYRING_PK, sk: `dataKey#${id}` }, ConsistentRead: true }));
    if (!Item) throw new Error(`data key ${id} is not in the keyring`);
    const { Plaintext } = await kms.send(new DecryptCommand({
      CiphertextBlob: Item.encryptedDataKey,
      EncryptionContext: { service: "shelcaster-channels", purpose: "stream-keys", dataKeyId: id },
    }));
    return Plaintext;
  })();
  dataKeys.set(id, { key: loading, loadedAt: Date.now() });
  loading.catch(() => dataKeys.delete(id));
  return loading;
}

async function openStreamKey(channelId, sealed) {
  const [prefix, id, payload] = sealed.split(":"); // base64url has no ":"
  if (prefix !== "kms1") throw new Error(`unknown sealed stream key format ${prefix}`);
  const raw = Buffer.from(payload, "base64url");
  const decipher = createDecipheriv("aes-256-gcm", await dataKey(id), raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(`shelcaster-channels/stream-key/channel/${channelId}`));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString();
}

const typeDefs = /* GraphQL */ `
  enum ChannelType { BASIC STANDARD ADVANCED_SD ADVANCED_HD }
  enum LatencyMode { NORMAL LOW }
  enum AssignmentModel { HOST_OWNED SHARED }
  enum ChannelState { IDLE LIVE OFFLINE }
  scalar DateTime

  type ChannelStats { totalBroadcasts: Int! totalStreamingMinutes: Float! lastBroadcastAt: DateTime }
  type Assignment { hostUserId: ID! channelId: ID! assignedAt: DateTime! assignedBy: ID channel: Channel! }
  type Channel {
    id: ID! arn: String! name: String! type: ChannelType! latencyMode: LatencyMode!
    assignmentModel: AssignmentModel! playbackUrl: String! ingestEndpoint: String! ingestUrl: String!
    state: ChannelState! recordingEnabled: Boolean! recordingConfigurationArn: String currentSessionId: String
    liveSince: DateTime stats: ChannelStats! createdAt: DateTime! updatedAt: DateTime! streamKey: String
    assignments: [Assignment!]!
  }
  type ChannelEdge { cursor: String! node: Channel! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type ChannelConnection { edges: [ChannelEdge!]! pageInfo: PageInfo! }
  type Query {
    channel(id: ID!): Channel
    channels(state: ChannelState = null, first: Int! = 20, after: String = null): ChannelConnection!
  }
`;

const mayReach = (caller, item) => caller.isAdmin || (item.assignedHostIds ?? new Set()).has(caller.userId);

const cursorOf = (item) => Buffer.from(JSON.stringify({
  channelCatalog: "persistentChannel", createdAt: item.createdAt, pk: item.pk, sk: item.sk,
})).toString("base64url");

const resolvers = {
  Query: {
    channel: async (_, { id }, { caller, loaders }) => {
      const item = await loaders.channelById.load(id);
      return item && mayReach(caller, item) ? item : null;
    },
    channels: async (_, { state, first }, { caller, loaders }) => {
      if (!caller.isAdmin) throw new GraphQLError("Only admins list channels.", { extensions: { code: "FORBIDDEN" } });
      if (state || first < 1 || first > 100) throw new GraphQLError("Not served by the peer.", { extensions: { code: "BAD_USER_INPUT" } });
      const { Items = [] } = await documents.send(new QueryCommand({
        TableName: TABLE,
        IndexName: CHANNELS_BY_CREATED_INDEX,
        KeyConditionExpression: "#partition = :partition",
        ExpressionAttributeNames: { "#partition": "channelCatalog" },
        ExpressionAttributeValues: { ":partition": "persistentChannel" },
        ScanIndexForward: false,
        Limit: first + 1,
      }));
      const edges = Items.slice(0, first).map((item) => {
        loaders.channelById.prime(item.channelId, item);
        return { cursor: cursorOf(item), node: item };
      });
      return { edges, pageInfo: { hasNextPage: Items.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
    },
  },
  Channel: {
    id: (item) => item.channelId,
    arn: (item) => item.channelArn ?? "",
    name: (item) => item.channelName ?? "",
    type: (item) => item.type ?? "STANDARD",
    latencyMode: (item) => item.latencyMode ?? "LOW",
    assignmentModel: (item) => item.assignmentModel ?? "HOST_OWNED",
    playbackUrl: (item) => item.playbackUrl ?? "",
    ingestEndpoint: (item) => item.ingestEndpoint ?? "",
    ingestUrl: (item) => `rtmps://${item.ingestEndpoint ?? ""}:443/app/`,
    state: (item) => item.state ?? "IDLE",
    recordingEnabled: (item) => Boolean(item.recordingConfigurationArn),
    recordingConfigurationArn: (item) => item.recordingConfigurationArn ?? null,
    currentSessionId: (item) => item.currentSessionId ?? null,
    liveSince: (item) => item.liveSince ?? null,
    stats: (item) => ({
      totalBroadcasts: Number(item.totalBroadcasts ?? 0),
      totalStreamingMinutes: Number(item.totalStreamingMinutes ?? 0),
      lastBroadcastAt: item.lastBroadcastAt ?? null,
    }),
    streamKey: (item, _, { caller }) => {
      if (!mayReach(caller, item)) return null;
      if (item.streamKey != null || item.encryptedStreamKey == null) return item.streamKey ?? null;
      return openStreamKey(item.channelId, item.encryptedStreamKey);
    },
    assignments: async (item, _, { loaders }) => {
      const hosts = [...(item.assignedHostIds ?? [])].sort();
      const found = await loaders.assignmentByHost.loadMany(hosts);
      // An assignment record that points elsewhere (the host moved since) is not this channel's.
      return found.filter((assignment) => assignment && assignment.channelId === item.channelId);
    },
  },
  Assignment: {
    assignedBy: (assignment) => assignment.assignedBy ?? null,
    channel: (assignment, _, { loaders }) => loaders.channelById.load(assignment.channelId),
  },
};

function unauthenticated(message) {
  return new GraphQLError(message, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
}

// Every request's token is verified (signature, issuer, expiry, audience): jose keeps the JWKS, not the
// verdicts.
async function callerOf(request) {
  const header = request.headers.get("authorization") ?? "";
  if (!header.startsWith("Bearer ")) throw unauthenticated("A bearer token is required.");
  let payload;
  try {
    ({ payload } = await jwtVerify(header.slice(7), jwks, { issuer: ISSUER, algorithms: ["RS256"] }));
  } catch (error) {
    throw unauthenticated(`The token is not valid: ${error.code ?? error.message}.`);
  }
  const audience = payload.token_use === "access" ? payload.client_id : payload.aud;
  if (![audience].flat().some((value) => AUDIENCES.includes(value))) {
    throw unauthenticated("The token was issued for another client (audience).");
  }
  return { userId: payload.sub, isAdmin: (payload["cognito:groups"] ?? []).includes(ADMIN_GROUP) };
}

const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers }),
  graphqlEndpoint: "/graphql",
  graphiql: false,
  landingPage: false,
  logging: false,
  context: async ({ request }) => ({ caller: await callerOf(request), loaders: createLoaders() }),
});

const server = createServer(yoga);
server.keepAliveTimeout = 75_000; // longer than the load generator's pauses between rounds
server.listen(Number(env.PEER_PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => process.exit(0)); // exit() writes the --cpu-prof profile
