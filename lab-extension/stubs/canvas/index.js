// See package.json: JSROOT imports node-canvas only when it runs under Node.
throw new Error('node-canvas is not installed: the torchclad lab extension draws ROOT objects in the browser only');
