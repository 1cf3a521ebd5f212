package io.loadlevel.common;

import io.loadlevel.common.status.StatusConfiguration;
import io.loadlevel.common.topology.TopologyConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.json.JsonMapper;

/** Beans both services share: the topology, the status store and the message codec. */
@Configuration(proxyBeanMethods = false)
@Import({TopologyConfiguration.class, StatusConfiguration.class})
public class LoadlevelCommonConfiguration {

    @Bean
    RequestMessageCodec requestMessageCodec(JsonMapper jsonMapper) {
        return new RequestMessageCodec(jsonMapper);
    }
}
