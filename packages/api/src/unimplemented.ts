// Handlers that answer UNIMPLEMENTED, so a service can serve the whole
// contract from day one and merge its real handlers over them.
import * as grpc from '@grpc/grpc-js';

/** "berth.images.v1.Images.ListImages" from "/berth.images.v1.Images/ListImages". */
export function methodDisplayName(path: string): string {
  return path.replace(/^\//, '').replace('/', '.');
}

function unimplementedStatus(path: string): grpc.ServerErrorResponse {
  const details = `${methodDisplayName(path)} is not implemented yet`;
  return Object.assign(new Error(details), { code: grpc.status.UNIMPLEMENTED, details });
}

function unimplementedHandler(method: grpc.MethodDefinition<unknown, unknown>): grpc.UntypedHandleCall {
  const status = () => unimplementedStatus(method.path);
  if (method.requestStream && method.responseStream) {
    return (call: grpc.ServerDuplexStream<unknown, unknown>) => call.emit('error', status());
  }
  if (method.responseStream) {
    return (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', status());
  }
  if (method.requestStream) {
    return (_call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(status());
  }
  return (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(status());
}

/**
 * One handler per method of `definition`, each answering status UNIMPLEMENTED
 * with "<package>.<Service>.<Method> is not implemented yet", whatever the
 * method's streaming shape.
 */
export function unimplementedHandlers(definition: grpc.ServiceDefinition): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    handlers[name] = unimplementedHandler(method);
  }
  return handlers;
}

/**
 * A complete, typed implementation of a service from the handlers written so
 * far: the rest answer UNIMPLEMENTED.
 *
 *   server.addService(images.ImagesService,
 *     withUnimplemented<images.ImagesServer>(images.ImagesService, { getImage }));
 */
export function withUnimplemented<Server extends grpc.UntypedServiceImplementation>(
  definition: grpc.ServiceDefinition<Server>,
  implemented: Partial<Server>,
): Server {
  const handlers = unimplementedHandlers(definition);
  for (const [name, handler] of Object.entries(implemented)) {
    if (handler === undefined) continue;
    if (!(name in definition)) {
      throw new Error(`handler "${name}" matches no method of the service definition`);
    }
    handlers[name] = handler;
  }
  // Every key of the definition now has a handler, which is what Server asks for.
  return handlers as Server;
}
