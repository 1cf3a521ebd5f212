package io.loadlevel.producer;

import io.loadlevel.common.LoadlevelCommonConfiguration;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Import;
import org.springframework.scheduling.annotation.EnableScheduling;

/** REST ingress: accepts requests and puts each one on the work queue with a publisher confirm. */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
@Import(LoadlevelCommonConfiguration.class)
public class ProducerApplication {

    public static void main(String[] args) {
        SpringApplication.run(ProducerApplication.class, args);
    }
}
